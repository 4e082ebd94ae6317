import type { Database, Sql } from '../store/database.ts';
import type { AuditKeyring } from './audit-keys.ts';
import { ensureHead, headSignatureData, readHead, type Head } from './head.ts';
import { keyedLinkData, legacyLink } from './links.ts';
import { signPurges } from './purge.ts';
import { contentColumns, contentHash } from './row-content.ts';

export { verifyChain, type VerifyOptions, type VerifyResult } from './verify.ts';
export type { VerifyProblem, ProblemKind } from './problems.ts';

/**
 * The hash chain over the transfer log (DESIGN §6). Rows are written freely by many workers and
 * sealed afterwards in batches by whichever process holds the chain row's lock, so writers never
 * contend on it. Sealing gives each row the next chain position, a hash of its content and a link to
 * the row before it, and signs the new head.
 *
 * With the audit key (src/log/audit-keys.ts) a link is an HMAC, so nobody without the key can
 * recompute the chain after an edit or a deletion, and a row whose writer's tag does not check is
 * refused: kept out of the chain and named by verify, never sealed as genuine. Without it a link is
 * a plain sha256 (the unsigned log of before). A chain written before the key existed is taken over
 * by the first keyed seal: everything then in the table is sealed the old way, and the keyed chain
 * goes on from there, so it covers what came before.
 */

export interface SealOptions {
  /** Rows per batch (default 5,000). */
  readonly limit?: number;
  /**
   * With a keyring, start signing a chain that is not signed yet (default true). Retention passes
   * false: it seals what is there as it is and leaves that step to the gateway's own sealer.
   */
  readonly adopt?: boolean;
  /**
   * Seal nothing (return 0) when another sealer holds the chain now, rather than wait for it: the
   * background sealer of every worker process ticks each second, and waiting only queued them behind
   * each other (measured: most of the lock waits with 4 processes).
   */
  readonly skipIfBusy?: boolean;
}

/** Seals up to `limit` unsealed rows in seq order; returns how many it sealed or refused. */
export async function sealBatch(
  db: Database,
  keyring: AuditKeyring | undefined,
  options: SealOptions = {},
): Promise<number> {
  const limit = options.limit ?? 5_000;
  return db.transaction(async (tx) => {
    let head = await readHead(tx, { lock: true, skipLocked: options.skipIfBusy ?? false });
    if (!head) {
      // Locked by another sealer, or not created yet.
      if (options.skipIfBusy && (await readHead(tx))) return 0;
      await ensureHead(tx);
      head = (await readHead(tx, { lock: true }))!;
    }
    if (head.keyedFrom === null) {
      if (!keyring || options.adopt === false) return sealUnkeyed(tx, head, limit);
      const taken = await adopt(tx, head, keyring);
      return taken + (await sealKeyed(tx, head, keyring, limit));
    }
    // A signed chain cannot be continued without the key; leave it to a sealer that has it.
    if (!keyring) return 0;
    return sealKeyed(tx, head, keyring, limit);
  });
}

export async function sealAll(
  db: Database,
  keyring: AuditKeyring | undefined,
  options: SealOptions = {},
): Promise<number> {
  let total = 0;
  for (let n = await sealBatch(db, keyring, options); n > 0; n = await sealBatch(db, keyring, options)) total += n;
  return total;
}

type UnsealedRow = Record<string, unknown> & { seq: string; writer_mac: string | null };

async function unsealed(tx: Sql, limit: number, upToSeq?: string): Promise<UnsealedRow[]> {
  return tx.query<UnsealedRow>(
    `select ${contentColumns()}, writer_mac from transfer_log
     where chain_pos is null and seal_rejected is null and ($2::bigint is null or transfer_log.seq <= $2::bigint)
     order by transfer_log.seq limit $1`,
    [limit, upToSeq ?? null],
  );
}

async function sealUnkeyed(tx: Sql, head: Head, limit: number, upToSeq?: string): Promise<number> {
  const rows = await unsealed(tx, limit, upToSeq);
  if (rows.length === 0) return 0;
  const sealed: SealedRow[] = [];
  for (const row of rows) {
    const pos = (BigInt(head.position) + 1n).toString();
    const content = contentHash(row);
    head.position = pos;
    head.hash = legacyLink(head.hash, pos, content);
    sealed.push({ seq: row.seq, pos, content, link: head.hash });
  }
  await writeSealed(tx, sealed);
  await tx.query(`update log_chain set last_pos = $1, last_hash = $2, sealed_at = $3 where id = 1`, [
    head.position,
    head.hash,
    new Date(),
  ]);
  return rows.length;
}

async function sealKeyed(tx: Sql, head: Head, keyring: AuditKeyring, limit: number): Promise<number> {
  const rows = await unsealed(tx, limit);
  if (rows.length === 0) return 0;
  const sealed: SealedRow[] = [];
  const refused: { seq: string; reason: string }[] = [];
  for (const row of rows) {
    const content = contentHash(row);
    const tag = keyring.check('row', content, row.writer_mac);
    if (tag !== 'ok') {
      refused.push({ seq: row.seq, reason: tag });
      continue;
    }
    const pos = (BigInt(head.position) + 1n).toString();
    head.position = pos;
    head.hash = keyring.sign('chain', keyedLinkData(head.hash, pos, content, row.writer_mac!));
    sealed.push({ seq: row.seq, pos, content, link: head.hash });
  }
  await writeSealed(tx, sealed);
  if (refused.length > 0)
    await tx.query(
      `update transfer_log t set seal_rejected = v.reason from unnest($1::bigint[], $2::text[]) as v(seq, reason) where t.seq = v.seq`,
      [refused.map((r) => r.seq), refused.map((r) => r.reason)],
    );
  if (sealed.length > 0) await writeSignedHead(tx, head, keyring);
  return rows.length;
}

/**
 * The first keyed seal of a chain that was not signed. Rows written before the key (no tag can vouch
 * for them) are sealed the old way, up to the last of them; what retention emptied before is signed
 * as purged; the keyed chain starts at the next position, its first link over the last unkeyed one.
 * On a new database nothing is untagged, so the chain is keyed from position 1.
 */
async function adopt(tx: Sql, head: Head, keyring: AuditKeyring): Promise<number> {
  const [{ last } = { last: null }] = await tx.query<{ last: string | null }>(
    `select max(seq)::text as last from transfer_log where chain_pos is null and seal_rejected is null and writer_mac is null`,
  );
  let total = 0;
  if (last !== null)
    for (let n = await sealUnkeyed(tx, head, 5_000, last); n > 0; n = await sealUnkeyed(tx, head, 5_000, last))
      total += n;
  await signPurges(tx, keyring);
  head.keyedFrom = (BigInt(head.position) + 1n).toString();
  await writeSignedHead(tx, head, keyring);
  return total;
}

async function writeSignedHead(tx: Sql, head: Head, keyring: AuditKeyring): Promise<void> {
  // Milliseconds, so the time signed is exactly the time stored.
  head.sealedAtMs = String(Date.now());
  head.signature = keyring.sign('head', headSignatureData(head));
  await tx.query(
    `update log_chain set last_pos = $1, last_hash = $2, keyed_from = $3, sealed_at = $4, signature = $5 where id = 1`,
    [head.position, head.hash, head.keyedFrom, new Date(Number(head.sealedAtMs)), head.signature],
  );
}

interface SealedRow {
  readonly seq: string;
  readonly pos: string;
  readonly content: string;
  readonly link: string;
}

async function writeSealed(tx: Sql, rows: readonly SealedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `update transfer_log t set chain_pos = v.pos, content_hash = v.content, chain_hash = v.chain
     from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) as v(seq, pos, content, chain) where t.seq = v.seq`,
    [rows.map((r) => r.seq), rows.map((r) => r.pos), rows.map((r) => r.content), rows.map((r) => r.link)],
  );
}
