import { canonicalJson } from '../canonical-json.ts';
import type { Sql } from '../store/database.ts';

/** The link before the first row. */
export const GENESIS = '0'.repeat(64);

/** The chain row, created at position 0 on first use. */
export async function ensureHead(sql: Sql): Promise<void> {
  await sql.query(`insert into log_chain (id, last_pos, last_hash) values (1, 0, $1) on conflict (id) do nothing`, [
    GENESIS,
  ]);
}

/** The chain row: where the chain ends, and (once the chain is keyed) its signature. */
export interface Head {
  readonly chainId: string;
  position: string;
  hash: string;
  /** The first position sealed with the audit key; null while the chain is not signed. */
  keyedFrom: string | null;
  /** When it was last sealed, in milliseconds since the epoch (what the signature covers). */
  sealedAtMs: string | null;
  signature: string | null;
}

/** `lock`: for update; `skipLocked`: and if another transaction holds it, nothing (undefined). */
export async function readHead(
  sql: Sql,
  options: { lock?: boolean; skipLocked?: boolean } = {},
): Promise<Head | undefined> {
  const [row] = await sql.query<{
    chain_id: string;
    last_pos: string;
    last_hash: string;
    keyed_from: string | null;
    sealed_ms: string | null;
    signature: string | null;
  }>(
    `select chain_id, last_pos::text as last_pos, last_hash, keyed_from::text as keyed_from,
       (extract(epoch from sealed_at) * 1000)::bigint::text as sealed_ms, signature
     from log_chain where id = 1${options.lock ? ` for update${options.skipLocked ? ' skip locked' : ''}` : ''}`,
  );
  if (!row) return undefined;
  return {
    chainId: row.chain_id,
    position: row.last_pos,
    hash: row.last_hash,
    keyedFrom: row.keyed_from,
    sealedAtMs: row.sealed_ms,
    signature: row.signature,
  };
}

/** Everything the head says, as its signature covers it: moving the head or its start shows. */
export function headSignatureData(head: Head): string {
  return canonicalJson({
    chainId: head.chainId,
    position: head.position,
    hash: head.hash,
    keyedFrom: head.keyedFrom,
    sealedAtMs: head.sealedAtMs,
  });
}
