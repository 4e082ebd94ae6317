import type { Sql } from './database.ts';

/** A (subject, partner) pair a pseudonym key rotation has still to move, as the link has it. */
export interface RotationPair {
  readonly subjectId: string;
  readonly holds: boolean;
  readonly partnerIds: readonly string[];
  /** How long ago a call's outcome there became unknown; null when none is. */
  readonly uncertainForMs: number | null;
}

/** The next pairs at the partner the rotation has not done, in subject order after `after`. */
export async function pendingRotationPairs(
  sql: Sql,
  partner: string,
  after: string,
  limit: number,
): Promise<RotationPair[]> {
  const rows = await sql.query<{
    subject_id: string;
    holds: boolean;
    partner_ids: string[];
    uncertain_ms: number | null;
  }>(
    `select l.subject_id, l.holds, l.partner_ids,
       (extract(epoch from clock_timestamp() - l.uncertain_since) * 1000)::float8 as uncertain_ms
     from links l
     where l.partner = $1 and l.subject_id > $2
       and not exists (select 1 from pseudonym_rotation_done d where d.partner = l.partner and d.subject_id = l.subject_id)
     order by l.subject_id limit $3`,
    [partner, after, limit],
  );
  return rows.map((r) => ({
    subjectId: r.subject_id,
    holds: r.holds,
    partnerIds: r.partner_ids,
    uncertainForMs: r.uncertain_ms === null ? null : Number(r.uncertain_ms),
  }));
}

/** How many pairs at each partner the rotation has still to do. */
export async function countPendingRotationPairs(
  sql: Sql,
  partners: readonly string[],
): Promise<Map<string, { held: number; uncertain: number; total: number }>> {
  const rows = await sql.query<{ partner: string; held: number; uncertain: number; total: number }>(
    `select l.partner, count(*) filter (where l.holds)::int as held,
       count(*) filter (where l.uncertain_since is not null)::int as uncertain, count(*)::int as total
     from links l
     where l.partner = any($1::text[])
       and not exists (select 1 from pseudonym_rotation_done d where d.partner = l.partner and d.subject_id = l.subject_id)
     group by l.partner`,
    [partners],
  );
  return new Map(rows.map((r) => [r.partner, { held: r.held, uncertain: r.uncertain, total: r.total }]));
}

export async function markRotated(sql: Sql, partner: string, subjectIds: readonly string[]): Promise<void> {
  if (subjectIds.length === 0) return;
  await sql.query(
    `insert into pseudonym_rotation_done (partner, subject_id) select $1, s from unnest($2::text[]) as s
     on conflict do nothing`,
    [partner, subjectIds],
  );
}

/**
 * A subject moved off its old pseudonym at a partner keyed by it: the old id leaves the link, and an
 * unknown outcome marked before `resolvedBefore` is settled (the old key's record was erased, the new
 * one written: nothing can be left under an id the gateway never learned).
 */
export async function forgetOldPseudonym(
  sql: Sql,
  partner: string,
  subjectId: string,
  oldPseudonym: string,
  resolvedBefore: Date,
): Promise<void> {
  await sql.query(
    `update links set partner_ids = partner_ids - $3::text,
       uncertain_since = case when uncertain_since <= $4 then null else uncertain_since end,
       updated_at = clock_timestamp()
     where partner = $1 and subject_id = $2`,
    [partner, subjectId, oldPseudonym, resolvedBefore],
  );
}

/** A search found nothing under an unlearned id: an unknown outcome marked before `resolvedBefore` is settled. */
export async function settleUncertain(
  sql: Sql,
  partner: string,
  subjectIds: readonly string[],
  resolvedBefore: Date,
): Promise<void> {
  if (subjectIds.length === 0) return;
  await sql.query(
    `update links set uncertain_since = null, updated_at = clock_timestamp()
     where partner = $1 and subject_id = any($2::text[]) and uncertain_since <= $3`,
    [partner, subjectIds, resolvedBefore],
  );
}

/** The partners whose links say they hold a subject, or may (an unknown outcome). */
export async function partnersHolding(sql: Sql): Promise<string[]> {
  const rows = await sql.query<{ partner: string }>(
    `select distinct partner from links where holds or uncertain_since is not null order by partner`,
  );
  return rows.map((r) => r.partner);
}
