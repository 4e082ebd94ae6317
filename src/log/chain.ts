import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.ts';
import type { Database, Sql } from '../store/database.ts';

/**
 * The hash chain over the transfer log (DESIGN §6). Rows are written freely by many workers and
 * sealed afterwards in batches by whichever process holds the chain row's lock, so writers never
 * contend on it. Sealing gives each row the next chain position, a hash of its content, and a chain
 * hash over the previous one. verify() recomputes all of it, so an edited, deleted or reordered row
 * shows. A row purged by retention keeps its position and content hash, so the chain still verifies.
 */

const GENESIS = '0'.repeat(64);

/** Everything a row says, read identically when sealing and when verifying (timestamps in µs). */
const contentColumns = `seq::text as seq, (extract(epoch from at) * 1000000)::bigint::text as at_us, kind, intent_seq::text as intent_seq,
  subject_id, partner, operation, purpose, legal_basis, trigger, operator, correlation_id, fields, categories, payload_digest,
  partner_id, outcome, http_status, error_code, attempt, duration_ms, policy_digest`;

type ContentRow = Record<string, unknown> & { seq: string };

function contentHash(row: ContentRow): string {
  return createHash('sha256').update(canonicalJson(row)).digest('hex');
}

function chainHash(previous: string, pos: string, content: string): string {
  return createHash('sha256').update(`${previous}:${pos}:${content}`).digest('hex');
}

/** Seals up to `limit` unsealed rows in seq order; returns how many. */
export async function sealBatch(db: Database, limit = 5_000): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query(`insert into log_chain (id, last_pos, last_hash) values (1, 0, $1) on conflict (id) do nothing`, [
      GENESIS,
    ]);
    const [head] = await tx.query<{ last_pos: string; last_hash: string }>(
      `select last_pos::text as last_pos, last_hash from log_chain where id = 1 for update`,
    );
    const rows = await tx.query<ContentRow>(
      `select ${contentColumns} from transfer_log where chain_pos is null order by transfer_log.seq limit $1`,
      [limit],
    );
    if (rows.length === 0) return 0;
    let pos = BigInt(head!.last_pos);
    let previous = head!.last_hash;
    const seqs: string[] = [];
    const positions: string[] = [];
    const contents: string[] = [];
    const chains: string[] = [];
    for (const row of rows) {
      pos += 1n;
      const content = contentHash(row);
      previous = chainHash(previous, pos.toString(), content);
      seqs.push(row.seq);
      positions.push(pos.toString());
      contents.push(content);
      chains.push(previous);
    }
    await tx.query(
      `update transfer_log t set chain_pos = v.pos, content_hash = v.content, chain_hash = v.chain
       from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) as v(seq, pos, content, chain) where t.seq = v.seq`,
      [seqs, positions, contents, chains],
    );
    await tx.query(`update log_chain set last_pos = $1, last_hash = $2 where id = 1`, [pos.toString(), previous]);
    return rows.length;
  });
}

export async function sealAll(db: Database): Promise<number> {
  let total = 0;
  for (let n = await sealBatch(db); n > 0; n = await sealBatch(db)) total += n;
  return total;
}

export interface VerifyProblem {
  readonly chainPos: string | null;
  readonly seq: string | null;
  readonly problem: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly rowsChecked: number;
  readonly purgedRows: number;
  /** Rows written but not yet sealed: not covered by the chain yet. */
  readonly unsealed: number;
  readonly problems: readonly VerifyProblem[];
}

/** Recomputes the chain from the first position to the head. Reads in pages: the log may be large. */
export async function verifyChain(sql: Sql, pageSize = 10_000): Promise<VerifyResult> {
  const problems: VerifyProblem[] = [];
  const [head] = await sql.query<{ last_pos: string; last_hash: string }>(
    `select last_pos::text as last_pos, last_hash from log_chain where id = 1`,
  );
  const [{ unsealed } = { unsealed: 0 }] = await sql.query<{ unsealed: number }>(
    `select count(*)::int as unsealed from transfer_log where chain_pos is null`,
  );
  let previous = GENESIS;
  let expected = 1n;
  let checked = 0;
  let purged = 0;
  let after = '0';
  for (;;) {
    const rows = await sql.query<
      ContentRow & { chain_pos: string; content_hash: string; chain_hash: string; purged: boolean }
    >(
      `select ${contentColumns}, chain_pos::text as chain_pos, content_hash, chain_hash, purged_at is not null as purged
       from transfer_log where transfer_log.chain_pos > $1::bigint order by transfer_log.chain_pos limit $2`,
      [after, pageSize],
    );
    for (const row of rows) {
      const { chain_pos, content_hash, chain_hash, purged: isPurged, ...content } = row;
      const pos = BigInt(chain_pos);
      if (pos !== expected) {
        problems.push({
          chainPos: expected.toString(),
          seq: null,
          problem: `row missing: chain position ${expected}${pos > expected + 1n ? `..${pos - 1n}` : ''} is gone`,
        });
      }
      // A purged row's content is gone by design; its recorded content hash stands in for it.
      const recomputed = isPurged ? content_hash : contentHash(content as ContentRow);
      if (recomputed !== content_hash)
        problems.push({
          chainPos: chain_pos,
          seq: row.seq,
          problem: 'row edited: its content no longer matches its hash',
        });
      const link = chainHash(previous, chain_pos, content_hash);
      if (link !== chain_hash)
        problems.push({
          chainPos: chain_pos,
          seq: row.seq,
          problem: 'chain broken: the row does not follow the one before it',
        });
      previous = chain_hash;
      expected = pos + 1n;
      checked++;
      if (isPurged) purged++;
    }
    if (rows.length < pageSize) break;
    after = rows[rows.length - 1]!.chain_pos;
  }
  if (head) {
    const headPos = BigInt(head.last_pos);
    if (expected - 1n !== headPos)
      problems.push({
        chainPos: head.last_pos,
        seq: null,
        problem: `rows missing at the end: the chain head is at position ${headPos}, the last row found is at ${expected - 1n}`,
      });
    else if (headPos > 0n && previous !== head.last_hash)
      problems.push({ chainPos: head.last_pos, seq: null, problem: 'chain head does not match the last row' });
  } else if (checked > 0) {
    problems.push({ chainPos: null, seq: null, problem: 'sealed rows exist but the chain head is missing' });
  }
  return { ok: problems.length === 0, rowsChecked: checked, purgedRows: purged, unsealed, problems };
}
