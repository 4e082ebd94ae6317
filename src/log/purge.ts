import type { Sql } from '../store/database.ts';
import type { AuditKeyring } from './audit-keys.ts';

/**
 * Retention empties a log row in place (its seq, chain position, content hash and links stay, so the
 * chain still verifies) and signs the emptying: verify accepts an empty row only with a valid purge
 * signature, so emptying a row by hand, or wiping what it says, shows as a forged purge.
 */

/** Stands in for NOT NULL columns of a purged row: says what happened, identifies nothing. */
const PURGED = 'purged';

interface PurgedRow {
  readonly seq: string;
  readonly chain_pos: string;
  readonly content_hash: string;
  readonly purged_ms: string;
}

/** What a purge signature covers: which row, where in the chain, what it said, and when it went. */
export function purgeSignatureData(row: PurgedRow): string {
  return `${row.seq}\n${row.chain_pos}\n${row.content_hash}\n${row.purged_ms}`;
}

const purgedColumns = `seq::text as seq, chain_pos::text as chain_pos, content_hash,
  (extract(epoch from purged_at) * 1000)::bigint::text as purged_ms`;

/**
 * Empties the sealed log rows of these subjects and signs each emptying (without a keyring: unsigned,
 * as before). A row not sealed yet has no content hash to stand in for it, so it is left alone.
 */
export async function purgeRows(
  tx: Sql,
  subjectIds: readonly string[],
  at: Date,
  keyring: AuditKeyring | undefined,
): Promise<number> {
  const rows = await tx.query<PurgedRow>(
    `update transfer_log set purged_at = $2, subject_id = null, partner_id = null, operator = null, fields = '{}',
       categories = '{}', payload_digest = null, correlation_id = $3, policy_digest = $3
     where subject_id = any($1::text[]) and chain_pos is not null
     returning ${purgedColumns}`,
    [subjectIds, at, PURGED],
  );
  if (keyring) await writePurgeSignatures(tx, rows, keyring);
  return rows.length;
}

/** Signs every sealed, purged row that has no purge signature (rows purged before the key). */
export async function signPurges(tx: Sql, keyring: AuditKeyring): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await tx.query<PurgedRow>(
      `select ${purgedColumns} from transfer_log
       where purged_at is not null and purge_mac is null and chain_pos is not null order by transfer_log.seq limit 5000`,
    );
    if (rows.length === 0) return total;
    await writePurgeSignatures(tx, rows, keyring);
    total += rows.length;
  }
}

async function writePurgeSignatures(tx: Sql, rows: readonly PurgedRow[], keyring: AuditKeyring): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `update transfer_log t set purge_mac = v.mac from unnest($1::bigint[], $2::text[]) as v(seq, mac) where t.seq = v.seq`,
    [rows.map((r) => r.seq), rows.map((r) => keyring.sign('purge', purgeSignatureData(r)))],
  );
}
