import type { Sql } from '../store/database.ts';
import { isTag, tagKeyId, type AuditKeyring, type TagCheck } from './audit-keys.ts';
import { checkAgainst, type LocatedCheckpoint } from './checkpoint.ts';
import { GENESIS, headSignatureData, readHead, type Head } from './head.ts';
import { keyedLinkData, legacyLink } from './links.ts';
import { Problems, type VerifyProblem } from './problems.ts';
import { purgeSignatureData } from './purge.ts';
import { contentColumns, contentHash } from './row-content.ts';

export interface VerifyOptions {
  /** Checkpoints exported earlier (src/log/checkpoint.ts): the log must still agree with each. */
  readonly against?: readonly LocatedCheckpoint[];
  readonly pageSize?: number;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly rowsChecked: number;
  readonly purgedRows: number;
  /** Rows written but not yet sealed: not covered by the chain yet. */
  readonly unsealed: number;
  /** Rows the sealer refused (no valid writer's tag); each is also a problem. */
  readonly refused: number;
  /** Whether the chain head is signed with the audit key, and from which position the chain is. */
  readonly signed: boolean;
  readonly signedFrom: string | null;
  readonly head: { readonly chainId: string; readonly position: string; readonly sealedAt: Date | null } | null;
  /** With `against`: how many checkpoints were read, and the furthest that is genuine. */
  readonly checkpoints: {
    readonly checked: number;
    readonly furthest: { readonly position: string; readonly createdAt: string } | null;
  } | null;
  readonly problems: readonly VerifyProblem[];
  /** Problems beyond the first 1,000, counted only. */
  readonly problemsOmitted: number;
}

type ChainRow = Record<string, unknown> & {
  seq: string;
  chain_pos: string;
  content_hash: string;
  chain_hash: string;
  writer_mac: string | null;
  purge_mac: string | null;
  purged_ms: string | null;
};

const NEEDS_KEY =
  'signed with the audit key: verify needs it (PARTNER_GATEWAY_AUDIT_KEY, or the pseudonym key it derives from)';

function unknownKey(tag: string | null): string {
  return `signed with audit key ${tagKeyId(tag)}, which this process does not have (PARTNER_GATEWAY_AUDIT_PREVIOUS_KEYS)`;
}

const WRITER_TAG: Record<Exclude<TagCheck, 'ok' | 'unknown_key'>, string> = {
  missing: 'not written by the gateway: the row has no writer tag (inserted, or rewritten, without the audit key)',
  malformed: 'not written by the gateway: its writer tag is not one the gateway writes',
  mismatch:
    'not written by the gateway as it is: its writer tag does not match its content hash (edited and re-hashed, or forged)',
};

/**
 * Recomputes the chain from the first position to the head, checks each row's content, writer's tag
 * and purge signature and the head's signature, names every row the sealer refused or that is not
 * sealed yet and fails its tag, and, given checkpoints, holds the log to each of them. Reads in
 * pages: the log may be large. Without a keyring only an unsigned chain can be checked.
 */
export async function verifyChain(
  sql: Sql,
  keyring: AuditKeyring | undefined,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? 10_000;
  const problems = new Problems();
  const head = await readHead(sql);
  const keyedFrom = head?.keyedFrom ? BigInt(head.keyedFrom) : null;
  let previous = GENESIS;
  let expected = 1n;
  let checked = 0;
  let purged = 0;
  let after = '0';
  for (;;) {
    const rows = await sql.query<ChainRow>(
      `select ${contentColumns()}, chain_pos::text as chain_pos, content_hash, chain_hash, writer_mac, purge_mac,
         (extract(epoch from purged_at) * 1000)::bigint::text as purged_ms
       from transfer_log where transfer_log.chain_pos > $1::bigint order by transfer_log.chain_pos limit $2`,
      [after, pageSize],
    );
    for (const row of rows) {
      const pos = BigInt(row.chain_pos);
      if (pos !== expected)
        problems.add(
          'rows_missing',
          `rows missing: chain position ${expected}${pos > expected + 1n ? `..${pos - 1n}` : ''} is gone`,
        );
      checkRow(row, pos, keyedFrom !== null && pos >= keyedFrom, keyedFrom !== null, previous, keyring, problems);
      previous = row.chain_hash;
      expected = pos + 1n;
      checked++;
      if (row.purged_ms !== null) purged++;
    }
    if (rows.length < pageSize) break;
    after = rows[rows.length - 1]!.chain_pos;
  }
  checkHead(head, expected - 1n, previous, checked, keyring, problems);
  const refused = await checkRefused(sql, problems);
  const unsealed = await checkUnsealed(sql, keyedFrom !== null ? keyring : undefined, pageSize, problems);
  if (checked === 0 && unsealed === 0 && refused === 0 && (await linksRecordTransfers(sql)))
    problems.add(
      'log_wiped',
      "the transfer log is empty, but the gateway's links record data sent to partners: the log was wiped",
    );
  const furthest = options.against ? await checkAgainst(sql, head, checked, options.against, keyring, problems) : null;
  return {
    ok: problems.count === 0,
    rowsChecked: checked,
    purgedRows: purged,
    unsealed,
    refused,
    signed: head?.signature !== null && head?.signature !== undefined,
    signedFrom: head?.keyedFrom ?? null,
    head: head
      ? {
          chainId: head.chainId,
          position: head.position,
          sealedAt: head.sealedAtMs === null ? null : new Date(Number(head.sealedAtMs)),
        }
      : null,
    checkpoints: options.against
      ? {
          checked: options.against.length,
          furthest: furthest ? { position: furthest.position, createdAt: furthest.createdAt } : null,
        }
      : null,
    problems: problems.list(),
    problemsOmitted: problems.omitted,
  };
}

function checkRow(
  row: ChainRow,
  pos: bigint,
  keyedRow: boolean,
  chainKeyed: boolean,
  previous: string,
  keyring: AuditKeyring | undefined,
  problems: Problems,
): void {
  const isPurged = row.purged_ms !== null;
  // A purged row's content is gone by design; its recorded content hash stands in for it.
  if (!isPurged && contentHash(row) !== row.content_hash)
    problems.at('row_edited', pos, row.seq, 'row edited: its content no longer matches its hash');

  if (keyring && (keyedRow || row.writer_mac !== null)) {
    const tag = keyring.check('row', row.content_hash, row.writer_mac);
    if (tag === 'unknown_key') problems.at('key_unknown', pos, row.seq, unknownKey(row.writer_mac));
    else if (tag !== 'ok') problems.at('row_forged', pos, row.seq, WRITER_TAG[tag]);
  }

  // Once the chain is signed, every emptied row must carry retention's signature (older purges were
  // signed when the chain was taken over).
  // On an unsigned chain a purge signature is checked where there is one and a key to check it with.
  if (isPurged && (chainKeyed || (keyring && row.purge_mac !== null))) {
    if (!keyring) problems.at('needs_key', pos, row.seq, NEEDS_KEY);
    else {
      const purge = keyring.check(
        'purge',
        purgeSignatureData({
          seq: row.seq,
          chain_pos: row.chain_pos,
          content_hash: row.content_hash,
          purged_ms: row.purged_ms!,
        }),
        row.purge_mac,
      );
      if (purge === 'unknown_key') problems.at('key_unknown', pos, row.seq, unknownKey(row.purge_mac));
      else if (purge !== 'ok')
        problems.at(
          'purge_forged',
          pos,
          row.seq,
          purge === 'missing'
            ? 'emptied, but not by a retention purge: the row has no purge signature'
            : 'emptied, but not by a retention purge: its purge signature does not match',
        );
    }
  }

  if (isTag(row.chain_hash)) {
    if (!keyedRow)
      problems.at(
        'head_forged',
        pos,
        row.seq,
        'sealed with the audit key, but the chain head says the chain is not signed here: the head was rewritten',
      );
    else if (!keyring) problems.at('needs_key', pos, row.seq, NEEDS_KEY);
    else {
      const link = keyring.check(
        'chain',
        keyedLinkData(previous, row.chain_pos, row.content_hash, row.writer_mac ?? ''),
        row.chain_hash,
      );
      if (link === 'unknown_key') problems.at('key_unknown', pos, row.seq, unknownKey(row.chain_hash));
      else if (link !== 'ok')
        problems.at(
          'chain_broken',
          pos,
          row.seq,
          'chain broken: the row does not follow the one sealed before it (rows deleted, inserted or reordered here)',
        );
    }
  } else if (keyedRow)
    problems.at(
      'chain_broken',
      pos,
      row.seq,
      'chain broken: sealed without the audit key where the chain is signed (the chain was recomputed from here)',
    );
  else if (legacyLink(previous, row.chain_pos, row.content_hash) !== row.chain_hash)
    problems.at('chain_broken', pos, row.seq, 'chain broken: the row does not follow the one before it');
}

function checkHead(
  head: Head | undefined,
  last: bigint,
  lastLink: string,
  checked: number,
  keyring: AuditKeyring | undefined,
  problems: Problems,
): void {
  if (!head) {
    if (checked > 0) problems.add('head_forged', 'sealed rows exist but the chain head is missing');
    return;
  }
  const headPos = BigInt(head.position);
  if (headPos > last)
    problems.add(
      'tail_missing',
      `rows missing at the end: the chain head is at position ${headPos}, the last row found is at ${last}`,
    );
  else if (headPos < last)
    problems.add(
      'head_forged',
      `the chain head is at position ${headPos}, but rows are sealed up to position ${last}: the head was moved back`,
    );
  else if (headPos > 0n && lastLink !== head.hash)
    problems.add('head_forged', 'chain head does not match the last row');
  if (head.signature === null && head.keyedFrom === null) return;
  if (!keyring) {
    if (!problems.has('needs_key')) problems.add('needs_key', `the chain head is ${NEEDS_KEY}`);
    return;
  }
  const check = keyring.check('head', headSignatureData(head), head.signature);
  if (check === 'unknown_key') problems.add('key_unknown', `the chain head is ${unknownKey(head.signature)}`);
  else if (check === 'missing')
    problems.add(
      'head_forged',
      `the chain is signed from position ${head.keyedFrom}, but its head carries no signature: the head was rewritten`,
    );
  else if (check !== 'ok')
    problems.add(
      'head_forged',
      `the chain head's signature does not match: the head (at position ${headPos}) was moved or rewritten`,
    );
}

const REFUSED: Record<string, string> = {
  missing: 'it has no writer tag',
  malformed: 'its writer tag is not one the gateway writes',
  mismatch: 'its writer tag does not match its content',
  unknown_key: 'its writer tag is signed with an audit key the sealer did not have',
};

async function checkRefused(sql: Sql, problems: Problems): Promise<number> {
  const rows = await sql.query<{ seq: string; seal_rejected: string }>(
    `select seq::text as seq, seal_rejected from transfer_log where seal_rejected is not null order by transfer_log.seq`,
  );
  for (const row of rows)
    problems.add(
      'row_forged',
      `not written by the gateway (${REFUSED[row.seal_rejected] ?? 'refused by the sealer'}): kept out of the chain`,
      row.seq,
    );
  return rows.length;
}

/** Counts rows not sealed yet; on a signed chain, names each whose writer's tag does not check. */
async function checkUnsealed(
  sql: Sql,
  keyring: AuditKeyring | undefined,
  pageSize: number,
  problems: Problems,
): Promise<number> {
  if (!keyring) {
    const [{ n } = { n: 0 }] = await sql.query<{ n: number }>(
      `select count(*)::int as n from transfer_log where chain_pos is null and seal_rejected is null`,
    );
    return n;
  }
  let count = 0;
  let after = '0';
  for (;;) {
    const rows = await sql.query<Record<string, unknown> & { seq: string; writer_mac: string | null }>(
      `select ${contentColumns()}, writer_mac from transfer_log
       where chain_pos is null and seal_rejected is null and transfer_log.seq > $1::bigint order by transfer_log.seq limit $2`,
      [after, pageSize],
    );
    for (const row of rows) {
      const tag = keyring.check('row', contentHash(row), row.writer_mac);
      if (tag === 'unknown_key') problems.add('key_unknown', `not sealed yet: ${unknownKey(row.writer_mac)}`, row.seq);
      else if (tag !== 'ok') problems.add('row_forged', `${WRITER_TAG[tag]} (not sealed yet)`, row.seq);
    }
    count += rows.length;
    if (rows.length < pageSize) return count;
    after = rows[rows.length - 1]!.seq;
  }
}

/** Whether any link says a partner acknowledged data: then the log cannot be empty. */
async function linksRecordTransfers(sql: Sql): Promise<boolean> {
  const [row] = await sql.query<{ sent: boolean }>(
    `select exists (select 1 from links where last_sent_at is not null) as sent`,
  );
  return row?.sent === true;
}
