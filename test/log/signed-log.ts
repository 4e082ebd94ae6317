/**
 * A transfer log as a gateway with the audit key leaves it, written through the log's own writers
 * (intents before calls, outcomes after, an attempt that died, events, a retention purge), sealed in
 * several batches; and the view of it an attacker with database write access has.
 */
import { createHash } from 'node:crypto';
import { createAuditKeys } from '../../src/keys.ts';
import { createAuditKeyring, type AuditKeyring, type AuditPurpose } from '../../src/log/audit-keys.ts';
import { sealAll } from '../../src/log/chain.ts';
import { createCheckpoint, type Checkpoint, type LocatedCheckpoint } from '../../src/log/checkpoint.ts';
import { headSignatureData, readHead } from '../../src/log/head.ts';
import { keyedLinkData, legacyLink } from '../../src/log/links.ts';
import { purgeRows } from '../../src/log/purge.ts';
import { contentColumns, contentHash } from '../../src/log/row-content.ts';
import {
  closeOpenIntents,
  writeEvent,
  writeIntents,
  writeOutcomes,
  type IntentRow,
} from '../../src/log/transfer-log.ts';
import { saveLinks } from '../../src/store/state.ts';
import type { Database, Sql } from '../../src/store/database.ts';

export const pseudonymKey = 'signed-log-test-pseudonym-key-0123';
/** The gateway's keyring: the default one, derived from the pseudonym key. */
export const keyring: AuditKeyring = createAuditKeys({ pseudonymKey }, {});

const POLICY = 'a1'.repeat(32);

function intent(subjectId: string, partner: string, attempt = 1): IntentRow {
  return {
    subjectId,
    partner,
    operation: 'upsert',
    purpose: partner === 'stripe' ? 'payment' : 'fulfilment',
    legalBasis: 'contract',
    trigger: 'change',
    correlationId: `corr-${subjectId}`,
    fields: partner === 'stripe' ? ['name.first', 'name.last'] : ['name.first', 'address.city', 'email'],
    categories: partner === 'stripe' ? ['name'] : ['name', 'address', 'email'],
    payloadDigest: createHash('sha256').update(`${subjectId}:${partner}`).digest('hex'),
    partnerId: `${partner}-id-${subjectId}`,
    attempt,
    policyDigest: POLICY,
  };
}

/** Subjects' traffic, as the worker and the lifecycle write it; without a signer, as before the audit key. */
export async function writeTraffic(
  db: Database,
  subjectIds: readonly string[],
  signer: AuditKeyring | undefined,
): Promise<void> {
  for (const id of subjectIds) await subjectTraffic(db, id, signer);
}

async function subjectTraffic(db: Database, subjectId: string, signer: AuditKeyring | undefined): Promise<void> {
  const seqs = await db.transaction((tx) =>
    writeIntents(tx, [intent(subjectId, 'stripe'), intent(subjectId, 'elogistik')], signer),
  );
  await db.transaction(async (tx) => {
    await writeOutcomes(
      tx,
      [
        { intentSeq: seqs[0]!, outcome: 'ok', partnerId: `cus_${subjectId}`, httpStatus: 200, durationMs: 41.6 },
        { intentSeq: seqs[1]!, outcome: 'failed', httpStatus: 503, errorCode: 'unavailable', durationMs: 7 },
      ],
      signer,
    );
    await saveLinks(tx, 'stripe', [
      {
        subjectId,
        update: {
          partnerIds: [`cus_${subjectId}`],
          digest: 'd',
          holds: true,
          suppressed: false,
          sentFields: ['name.first'],
        },
      },
    ]);
  });
  // The retry's worker died between call and outcome: the next attempt closes it as unknown.
  await db.transaction((tx) => writeIntents(tx, [intent(subjectId, 'elogistik', 2)], signer));
  await db.transaction(async (tx) => {
    await closeOpenIntents(tx, [subjectId], 'elogistik', signer);
    const [retry] = await writeIntents(tx, [intent(subjectId, 'elogistik', 3)], signer);
    await writeOutcomes(tx, [{ intentSeq: retry!, outcome: 'ok', httpStatus: 204 }], signer);
  });
  await writeEvent(
    db,
    {
      subjectId,
      operation: 'restrict',
      trigger: 'restriction',
      operator: 'ops-test',
      correlationId: `ev-${subjectId}`,
      policyDigest: POLICY,
    },
    signer,
  );
}

export interface SignedLog {
  /** The subjects written in the first phase and in the second. */
  readonly early: readonly string[];
  readonly late: readonly string[];
  /** Subject whose rows retention purged. */
  readonly purgedSubject: string;
  /** The chain row as it was after the first phase (what an attacker could have copied then). */
  readonly earlyHead: Record<string, unknown>;
  readonly earlyCheckpoint: Checkpoint;
  /** Taken at the end. */
  readonly checkpoint: Checkpoint;
  readonly checkpoints: LocatedCheckpoint[];
}

/** Writes and seals the log; six subjects, sealed in two phases, the first subject purged. */
export async function writeSignedLog(db: Database, signer: AuditKeyring = keyring): Promise<SignedLog> {
  const early = ['subj-1', 'subj-2', 'subj-3'];
  const late = ['subj-4', 'subj-5', 'subj-6'];
  for (const id of early) await subjectTraffic(db, id, signer);
  await sealAll(db, signer);
  const [earlyHead] = await db.query<Record<string, unknown>>(`select * from log_chain`);
  const earlyCheckpoint = await createCheckpoint(db, signer);
  for (const id of late) await subjectTraffic(db, id, signer);
  await sealAll(db, signer);
  await db.transaction((tx) => purgeRows(tx, ['subj-1'], new Date('2027-03-02T00:00:00.123Z'), signer));
  const checkpoint = await createCheckpoint(db, signer);
  return {
    early,
    late,
    purgedSubject: 'subj-1',
    earlyHead: earlyHead!,
    earlyCheckpoint,
    checkpoint,
    checkpoints: [
      { checkpoint: earlyCheckpoint, where: 'checkpoints.jsonl line 1' },
      { checkpoint, where: 'checkpoints.jsonl line 2' },
    ],
  };
}

/** Runs fn on a view of one transaction that is rolled back afterwards: each attack starts from the same log. */
export async function inRollback<T>(db: Database, fn: (tx: Database) => Promise<T>): Promise<T> {
  let result: T | undefined;
  await db
    .transaction(async (tx) => {
      const view: Database = {
        engine: db.engine,
        schema: db.schema,
        boss: db.boss,
        close: () => db.close(),
        query: (text, params) => tx.query(text, params),
        transaction: (f) => f(tx),
      };
      result = await fn(view);
      throw new RolledBack();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  return result as T;
}

class RolledBack extends Error {}

export async function seqsOf(sql: Sql, subjectId: string): Promise<string[]> {
  return (
    await sql.query<{ seq: string }>(
      `select seq::text as seq from transfer_log where subject_id = $1 order by transfer_log.seq`,
      [subjectId],
    )
  ).map((r) => r.seq);
}

export async function positionOf(sql: Sql, seq: string): Promise<string> {
  const [row] = await sql.query<{ p: string }>(`select chain_pos::text as p from transfer_log where seq = $1`, [seq]);
  return row!.p;
}

/**
 * What an attacker without the key can do to hide a change: recompute content hashes and links from
 * a position on, and write a new head. `forge`: 'unkeyed' seals the old way (sha256 links, the head
 * unsigned); 'guessed-key' signs everything under our key id with a key of their own.
 */
export type Forgery = 'unkeyed' | 'guessed-key';

export function attackerKeyring(): AuditKeyring {
  const theirs = createAuditKeyring('the attacker has a key of their own');
  const ourId = keyring.currentId;
  return {
    currentId: ourId,
    ids: [ourId],
    sign: (purpose: AuditPurpose, data: string) => `${ourId}:${theirs.sign(purpose, data).split(':')[1]}`,
    check: () => 'mismatch',
  };
}

export async function recomputeChain(
  sql: Sql,
  fromPos: bigint,
  forge: Forgery,
  options: { toPos?: bigint } = {},
): Promise<void> {
  const forger = attackerKeyring();
  const [before] = await sql.query<{ chain_hash: string }>(`select chain_hash from transfer_log where chain_pos = $1`, [
    (fromPos - 1n).toString(),
  ]);
  let previous = before?.chain_hash ?? '0'.repeat(64);
  const rows = await sql.query<
    Record<string, unknown> & {
      chain_pos: string;
      seq: string;
      writer_mac: string | null;
      purged: boolean;
      content_hash: string;
    }
  >(
    `select ${contentColumns()}, chain_pos::text as chain_pos, writer_mac, content_hash, purged_at is not null as purged
     from transfer_log where chain_pos >= $1 and ($2::bigint is null or chain_pos <= $2::bigint) order by transfer_log.chain_pos`,
    [fromPos.toString(), options.toPos?.toString() ?? null],
  );
  let last = fromPos - 1n;
  for (const row of rows) {
    const content = row.purged ? row.content_hash : contentHash(row);
    const tag = forge === 'unkeyed' ? row.writer_mac : forger.sign('row', content);
    const link =
      forge === 'unkeyed'
        ? legacyLink(previous, row.chain_pos, content)
        : forger.sign('chain', keyedLinkData(previous, row.chain_pos, content, tag ?? ''));
    await sql.query(`update transfer_log set content_hash = $2, writer_mac = $3, chain_hash = $4 where seq = $1`, [
      row.seq,
      content,
      tag,
      link,
    ]);
    previous = link;
    last = BigInt(row.chain_pos);
  }
  // Stopping short of the end leaves the head alone: the rows after still link to the old chain.
  if (options.toPos === undefined) await moveHead(sql, last, previous, forge);
}

/** Points the head at a position and link, signed as the forgery can. */
export async function moveHead(sql: Sql, pos: bigint, hash: string, forge: Forgery): Promise<void> {
  await sql.query(`update log_chain set last_pos = $1, last_hash = $2`, [pos.toString(), hash]);
  const head = (await readHead(sql))!;
  const signature = forge === 'unkeyed' ? null : attackerKeyring().sign('head', headSignatureData(head));
  await sql.query(`update log_chain set signature = $1`, [signature]);
}

/** Renumbers the chain positions densely from 1, as someone hiding a deletion would. */
export async function renumber(sql: Sql): Promise<void> {
  await sql.query(`update transfer_log set chain_pos = -chain_pos where chain_pos is not null`);
  await sql.query(
    `update transfer_log t set chain_pos = r.n from (select seq, row_number() over (order by chain_pos desc) as n
       from transfer_log where chain_pos is not null) r where t.seq = r.seq`,
  );
}
