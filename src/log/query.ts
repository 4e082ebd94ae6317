import type { Sql } from '../store/database.ts';

export interface TransferFilter {
  readonly subjectId?: string;
  readonly partner?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly kind?: 'intent' | 'outcome' | 'event';
  /** Rows after this seq (paging). */
  readonly afterSeq?: string;
  readonly limit?: number;
}

export interface TransferRow {
  readonly seq: string;
  readonly at: Date;
  readonly kind: 'intent' | 'outcome' | 'event';
  readonly intentSeq: string | null;
  readonly subjectId: string | null;
  readonly partner: string | null;
  readonly operation: string;
  readonly purpose: string | null;
  readonly legalBasis: string | null;
  readonly trigger: string;
  readonly operator: string | null;
  readonly correlationId: string;
  readonly fields: string[];
  readonly categories: string[];
  readonly payloadDigest: string | null;
  readonly partnerId: string | null;
  readonly outcome: string | null;
  readonly httpStatus: number | null;
  readonly errorCode: string | null;
  readonly attempt: number | null;
  readonly durationMs: number | null;
  readonly policyDigest: string;
  readonly sealed: boolean;
}

export async function listTransfers(sql: Sql, filter: TransferFilter = {}): Promise<TransferRow[]> {
  const where: string[] = ['purged_at is null'];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (filter.subjectId) add('subject_id = ?', filter.subjectId);
  if (filter.partner) add('partner = ?', filter.partner);
  if (filter.since) add('at >= ?', filter.since);
  if (filter.until) add('at < ?', filter.until);
  if (filter.kind) add('kind = ?', filter.kind);
  if (filter.afterSeq) add('seq > ?::bigint', filter.afterSeq);
  params.push(Math.min(filter.limit ?? 1_000, 100_000));
  const rows = await sql.query<Record<string, unknown>>(
    `select seq::text as seq, at, kind, intent_seq::text as intent_seq, subject_id, partner, operation, purpose, legal_basis, trigger,
       operator, correlation_id, fields, categories, payload_digest, partner_id, outcome, http_status, error_code, attempt,
       duration_ms, policy_digest, chain_pos is not null as sealed
     from transfer_log where ${where.join(' and ')} order by transfer_log.seq limit $${params.length}`,
    params,
  );
  return rows.map((r) => ({
    seq: r.seq as string,
    at: new Date(r.at as Date),
    kind: r.kind as TransferRow['kind'],
    intentSeq: r.intent_seq as string | null,
    subjectId: r.subject_id as string | null,
    partner: r.partner as string | null,
    operation: r.operation as string,
    purpose: r.purpose as string | null,
    legalBasis: r.legal_basis as string | null,
    trigger: r.trigger as string,
    operator: r.operator as string | null,
    correlationId: r.correlation_id as string,
    fields: r.fields as string[],
    categories: r.categories as string[],
    payloadDigest: r.payload_digest as string | null,
    partnerId: r.partner_id as string | null,
    outcome: r.outcome as string | null,
    httpStatus: r.http_status as number | null,
    errorCode: r.error_code as string | null,
    attempt: r.attempt as number | null,
    durationMs: r.duration_ms as number | null,
    policyDigest: r.policy_digest as string,
    sealed: r.sealed as boolean,
  }));
}
