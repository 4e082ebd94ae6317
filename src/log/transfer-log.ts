import type { Sql } from '../store/database.ts';

/** Why a call was made. */
export type Trigger = 'change' | 'resync' | 'erasure' | 'consent' | 'restriction' | 'ops' | 'action' | 'retention';

export type Operation = 'upsert' | 'upsert_batch' | 'erase' | 'suppress' | 'action' | 'fetch' | string;

/** A transfer log row as written. Never a personal value: field names, categories and digests only. */
export interface IntentRow {
  readonly subjectId: string;
  readonly partner: string;
  readonly operation: Operation;
  readonly purpose: string;
  readonly legalBasis: string;
  readonly trigger: Trigger;
  readonly operator?: string | undefined;
  readonly correlationId: string;
  readonly fields: readonly string[];
  readonly categories: readonly string[];
  readonly payloadDigest?: string | undefined;
  readonly partnerId?: string | undefined;
  readonly attempt: number;
  readonly policyDigest: string;
}

export type Outcome = 'ok' | 'failed' | 'unknown';

export interface OutcomeRow {
  readonly outcome: Outcome;
  readonly partnerId?: string | undefined;
  readonly httpStatus?: number | undefined;
  readonly errorCode?: string | undefined;
  readonly durationMs?: number | undefined;
}

export interface EventRow {
  readonly subjectId?: string | undefined;
  readonly partner?: string | undefined;
  /** e.g. restrict, unrestrict, consent_grant, consent_withdraw, erasure_requested, retention_purge. */
  readonly operation: string;
  readonly trigger: Trigger;
  readonly operator?: string | undefined;
  readonly correlationId: string;
  readonly purpose?: string | undefined;
  readonly legalBasis?: string | undefined;
  readonly policyDigest: string;
}

const intentColumns =
  'kind, subject_id, partner, operation, purpose, legal_basis, trigger, operator, correlation_id, fields, categories, payload_digest, partner_id, attempt, policy_digest';

export async function writeIntent(sql: Sql, row: IntentRow): Promise<string> {
  const [inserted] = await sql.query<{ seq: string }>(
    `insert into transfer_log (${intentColumns}) values ('intent', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) returning seq::text as seq`,
    intentValues(row),
  );
  return inserted!.seq;
}

/** Many intents in one statement (a batch call to one partner). Returns the seqs in input order. */
export async function writeIntents(sql: Sql, rows: readonly IntentRow[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const values = rows.map(intentValues);
  const column = (i: number) => values.map((v) => v[i]);
  // unnest flattens arrays of arrays, so the name lists travel comma-joined (names hold no commas).
  const joined = (i: number) => values.map((v) => (v[i] as string[]).join(','));
  const inserted = await sql.query<{ seq: string }>(
    `insert into transfer_log (${intentColumns})
     select 'intent', s, p, o, pu, lb, tr, op, co, string_to_array(f, ','), string_to_array(c, ','), pd, pi, a, dg
     from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
       $9::text[], $10::text[], $11::text[], $12::text[], $13::int[], $14::text[]) as u(s, p, o, pu, lb, tr, op, co, f, c, pd, pi, a, dg)
     returning seq::text as seq`,
    [
      column(0),
      column(1),
      column(2),
      column(3),
      column(4),
      column(5),
      column(6),
      column(7),
      joined(8),
      joined(9),
      column(10),
      column(11),
      column(12),
      column(13),
    ],
  );
  return inserted.map((r) => r.seq).sort((a, b) => Number(a) - Number(b));
}

function intentValues(row: IntentRow): unknown[] {
  return [
    row.subjectId,
    row.partner,
    row.operation,
    row.purpose,
    row.legalBasis,
    row.trigger,
    row.operator ?? null,
    row.correlationId,
    [...row.fields],
    [...row.categories],
    row.payloadDigest ?? null,
    row.partnerId ?? null,
    row.attempt,
    row.policyDigest,
  ];
}

/** The outcome row copies the intent's who/what/why, so each row reads on its own in an export. */
export async function writeOutcome(sql: Sql, intentSeq: string, row: OutcomeRow): Promise<void> {
  await writeOutcomes(sql, [{ intentSeq, ...row }]);
}

export async function writeOutcomes(sql: Sql, rows: readonly (OutcomeRow & { intentSeq: string })[]): Promise<void> {
  if (rows.length === 0) return;
  await sql.query(
    `insert into transfer_log (kind, intent_seq, subject_id, partner, operation, purpose, legal_basis, trigger, operator,
       correlation_id, fields, categories, payload_digest, partner_id, outcome, http_status, error_code, attempt, duration_ms, policy_digest)
     select 'outcome', i.seq, i.subject_id, i.partner, i.operation, i.purpose, i.legal_basis, i.trigger, i.operator,
       i.correlation_id, i.fields, i.categories, i.payload_digest, coalesce(o.partner_id, i.partner_id), o.outcome, o.http_status,
       o.error_code, i.attempt, o.duration_ms, i.policy_digest
     from unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[], $6::int[]) as o(seq, outcome, partner_id, http_status, error_code, duration_ms)
     join transfer_log i on i.seq = o.seq
     order by o.seq`,
    [
      rows.map((r) => r.intentSeq),
      rows.map((r) => r.outcome),
      rows.map((r) => r.partnerId ?? null),
      rows.map((r) => r.httpStatus ?? null),
      rows.map((r) => r.errorCode ?? null),
      rows.map((r) => (r.durationMs === undefined ? null : Math.round(r.durationMs))),
    ],
  );
}

export async function writeEvent(sql: Sql, row: EventRow): Promise<void> {
  await sql.query(
    `insert into transfer_log (kind, subject_id, partner, operation, purpose, legal_basis, trigger, operator, correlation_id, policy_digest)
     values ('event', $1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      row.subjectId ?? null,
      row.partner ?? null,
      row.operation,
      row.purpose ?? null,
      row.legalBasis ?? null,
      row.trigger,
      row.operator ?? null,
      row.correlationId,
      row.policyDigest,
    ],
  );
}

/**
 * An intent with no outcome for (subject, partner) when a new attempt starts means the previous
 * attempt died between the call and its outcome (one (subject, partner) is never worked on twice at
 * once). Record that honestly as "unknown" rather than leave a silent gap.
 */
export async function closeOpenIntents(
  sql: Sql,
  subjectIds: string | readonly string[],
  partner: string,
): Promise<number> {
  const ids = typeof subjectIds === 'string' ? [subjectIds] : [...subjectIds];
  if (ids.length === 0) return 0;
  const open = await sql.query<{ seq: string }>(
    `select i.seq::text as seq from transfer_log i
     where i.kind = 'intent' and i.subject_id = any($1::text[]) and i.partner = $2
       and not exists (select 1 from transfer_log o where o.kind = 'outcome' and o.intent_seq = i.seq)
     order by i.seq`,
    [ids, partner],
  );
  await writeOutcomes(
    sql,
    open.map((r) => ({ intentSeq: r.seq, outcome: 'unknown' as const, errorCode: 'attempt_died' })),
  );
  return open.length;
}
