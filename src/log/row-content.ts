import { hash } from 'node:crypto';
import type { AuditKeyring } from './audit-keys.ts';

/**
 * Everything a transfer log row says, in one form that the writer (before the insert), the sealer
 * and verify all hash alike: numbers that PostgreSQL returns as numbers stay numbers, bigints travel
 * as text, the time as microseconds since the epoch.
 */
export interface RowContent {
  readonly seq: string;
  readonly at_us: string;
  readonly kind: 'intent' | 'outcome' | 'event';
  readonly intent_seq: string | null;
  readonly subject_id: string | null;
  readonly partner: string | null;
  readonly operation: string;
  readonly purpose: string | null;
  readonly legal_basis: string | null;
  readonly trigger: string;
  readonly operator: string | null;
  readonly correlation_id: string;
  readonly fields: readonly string[];
  readonly categories: readonly string[];
  readonly payload_digest: string | null;
  readonly partner_id: string | null;
  readonly outcome: string | null;
  readonly http_status: number | null;
  readonly error_code: string | null;
  readonly attempt: number | null;
  readonly duration_ms: number | null;
  readonly policy_digest: string;
}

const KEYS = [
  'seq',
  'at_us',
  'kind',
  'intent_seq',
  'subject_id',
  'partner',
  'operation',
  'purpose',
  'legal_basis',
  'trigger',
  'operator',
  'correlation_id',
  'fields',
  'categories',
  'payload_digest',
  'partner_id',
  'outcome',
  'http_status',
  'error_code',
  'attempt',
  'duration_ms',
  'policy_digest',
] as const satisfies readonly (keyof RowContent)[];

/** The select list that reads a row's content (qualified, so it can sit in a join). */
export function contentColumns(table = 'transfer_log'): string {
  return KEYS.map((k) =>
    k === 'seq'
      ? `${table}.seq::text as seq`
      : k === 'at_us'
        ? `(extract(epoch from ${table}.at) * 1000000)::bigint::text as at_us`
        : k === 'intent_seq'
          ? `${table}.intent_seq::text as intent_seq`
          : `${table}.${k}`,
  ).join(', ');
}

/** The members in canonicalJson's order (sorted), each with the JSON text that comes before its value. */
const SORTED = [...KEYS].sort();
const MEMBER_PREFIX = SORTED.map((k, i) => `${i === 0 ? '{' : ','}${JSON.stringify(k)}:`);

/**
 * sha256 of the row's canonical JSON: the same text canonicalJson() gives of its content members (so
 * hashes sealed before stay valid), a member missing from `row` counted as null. `row` may hold more
 * than its content (the sealer passes the row it read). The text is built member by member rather
 * than through canonicalJson's generic sorting or an ordered copy of the row: the writer, the sealer
 * and verify hash every row, and those copies were most of the cost.
 */
export function contentHash(row: Readonly<Record<string, unknown>> | RowContent): string {
  const r = row as Readonly<Record<string, unknown>>;
  let text = '';
  for (let i = 0; i < SORTED.length; i++) text += MEMBER_PREFIX[i]! + JSON.stringify(r[SORTED[i]!] ?? null);
  return hash('sha256', `${text}}`, 'hex');
}

/** The writer's tag: binds the row's content hash (which a retention purge keeps) to the audit key. */
export function writerTag(keyring: AuditKeyring, contentHashHex: string): string {
  return keyring.sign('row', contentHashHex);
}
