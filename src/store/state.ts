import type { ConsentState, Directives, Link } from '../reconcile.ts';
import type { Sql } from './database.ts';
import { erasedAmong, type ErasureMarks } from './erased.ts';

/** Everything reconcile needs about a subject besides the master record, loaded in bulk. */
export interface SubjectState {
  readonly directives: Directives;
  readonly subscriptionEndedAt: Date | null;
  readonly links: ReadonlyMap<string, StoredLink>;
}

export type StoredLink = Link & { readonly lastSentAt: Date | null; readonly lastFields: readonly string[] };

const emptyDirectives: Directives = { tombstoned: false, erasureDueAt: null, restricted: false, consent: {} };

/** One query per table for any number of subjects: resync streams thousands at a time through this. */
export async function loadStates(
  sql: Sql,
  keys: ErasureMarks,
  subjectIds: readonly string[],
  partner?: string,
): Promise<Map<string, SubjectState>> {
  const ids = [...new Set(subjectIds)];
  const [subjects, erased, consent, links] = await Promise.all([
    sql.query<{ id: string; restricted: boolean; erasure_due_at: Date | null; subscription_ended_at: Date | null }>(
      `select id, restricted_at is not null as restricted, erasure_due_at, subscription_ended_at from subjects where id = any($1::text[])`,
      [ids],
    ),
    erasedAmong(sql, keys, ids),
    sql.query<{ subject_id: string; purpose: string; status: 'granted' | 'withdrawn'; id: string }>(
      `select distinct on (subject_id, purpose) subject_id, purpose, status, id::text as id
       from consent_ledger where subject_id = any($1::text[]) order by subject_id, purpose, consent_ledger.id desc`,
      [ids],
    ),
    sql.query<LinkRow>(
      `select subject_id, partner, partner_ids, digest, holds, consent_entry_applied, suppressed, last_sent_at, last_fields, erased_at is not null as erased
       from links where subject_id = any($1::text[]) ${partner ? 'and partner = $2' : ''}`,
      partner ? [ids, partner] : [ids],
    ),
  ]);
  const out = new Map<
    string,
    { directives: Directives; subscriptionEndedAt: Date | null; links: Map<string, StoredLink> }
  >();
  for (const id of ids)
    out.set(id, { directives: { ...emptyDirectives, consent: {} }, subscriptionEndedAt: null, links: new Map() });
  for (const s of subjects) {
    const state = out.get(s.id)!;
    state.subscriptionEndedAt = s.subscription_ended_at ? new Date(s.subscription_ended_at) : null;
    state.directives = {
      ...state.directives,
      restricted: s.restricted,
      erasureDueAt: s.erasure_due_at ? new Date(s.erasure_due_at) : null,
    };
  }
  for (const id of erased) {
    const state = out.get(id)!;
    state.directives = { ...state.directives, tombstoned: true };
  }
  for (const c of consent) {
    const state = out.get(c.subject_id)!;
    state.directives = {
      ...state.directives,
      consent: { ...state.directives.consent, [c.purpose]: { status: c.status, entryId: c.id } satisfies ConsentState },
    };
  }
  for (const l of links) out.get(l.subject_id)!.links.set(l.partner, toLink(l));
  return out;
}

interface LinkRow {
  subject_id: string;
  partner: string;
  partner_ids: string[] | string;
  digest: string | null;
  holds: boolean;
  consent_entry_applied: string | null;
  suppressed: boolean;
  last_sent_at: Date | null;
  last_fields: string[];
  erased: boolean;
}

function toLink(row: LinkRow): StoredLink {
  return {
    partnerIds: typeof row.partner_ids === 'string' ? (JSON.parse(row.partner_ids) as string[]) : row.partner_ids,
    digest: row.digest,
    holds: row.holds,
    consentEntryApplied: row.consent_entry_applied,
    suppressed: row.suppressed,
    erased: row.erased,
    lastSentAt: row.last_sent_at ? new Date(row.last_sent_at) : null,
    lastFields: row.last_fields ?? [],
  };
}

export interface LinkUpdate {
  readonly partnerIds: readonly string[];
  readonly digest: string | null;
  readonly holds: boolean;
  readonly consentEntryApplied?: string | null;
  readonly suppressed: boolean;
  readonly sentFields?: readonly string[];
  readonly erased?: boolean;
}

export async function saveLink(sql: Sql, subjectId: string, partner: string, update: LinkUpdate): Promise<void> {
  await saveLinks(sql, partner, [{ subjectId, update }]);
}

/** Upserts many links of one partner in one statement. */
export async function saveLinks(
  sql: Sql,
  partner: string,
  rows: readonly { subjectId: string; update: LinkUpdate }[],
): Promise<void> {
  if (rows.length === 0) return;
  const col = <T>(f: (u: LinkUpdate) => T) => rows.map((r) => f(r.update));
  await sql.query(
    `insert into links (subject_id, partner, partner_ids, digest, holds, consent_entry_applied, suppressed, last_sent_at, last_fields, erased_at, updated_at)
     select u.subject_id, $1, u.partner_ids::jsonb, u.digest, u.holds, u.consent_entry_applied, u.suppressed,
       case when u.sent then clock_timestamp() end, coalesce(string_to_array(u.sent_fields, ','), '{}'),
       case when u.erased then clock_timestamp() end, clock_timestamp()
     from unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::text[], $7::boolean[], $8::boolean[], $9::text[], $10::boolean[], $11::boolean[])
       as u(subject_id, partner_ids, digest, holds, consent_entry_applied, suppressed, sent, sent_fields, erased, sets_consent)
     on conflict (subject_id, partner) do update set
       partner_ids = excluded.partner_ids, digest = excluded.digest, holds = excluded.holds,
       consent_entry_applied = case when (select sets_consent from unnest($2::text[], $11::boolean[]) as c(s, sets_consent) where c.s = excluded.subject_id)
         then excluded.consent_entry_applied else links.consent_entry_applied end,
       suppressed = excluded.suppressed,
       last_sent_at = coalesce(excluded.last_sent_at, links.last_sent_at),
       last_fields = case when excluded.last_sent_at is null then links.last_fields else excluded.last_fields end,
       erased_at = case when excluded.erased_at is not null then excluded.erased_at when excluded.holds then null else links.erased_at end,
       updated_at = clock_timestamp()`,
    [
      partner,
      rows.map((r) => r.subjectId),
      col((u) => JSON.stringify(u.partnerIds)),
      col((u) => u.digest),
      col((u) => u.holds),
      col((u) => u.consentEntryApplied ?? null),
      col((u) => u.suppressed),
      col((u) => u.sentFields !== undefined),
      // unnest flattens arrays of arrays, so field lists travel comma-joined (field paths hold no commas).
      col((u) => (u.sentFields ? u.sentFields.join(',') : null)),
      col((u) => u.erased ?? false),
      col((u) => u.consentEntryApplied !== undefined),
    ],
  );
}

/** Ensures a subjects row exists (directives hang off it). */
export async function touchSubject(sql: Sql, subjectId: string): Promise<void> {
  await sql.query(`insert into subjects (id) values ($1) on conflict (id) do nothing`, [subjectId]);
}

/**
 * Remembers when the subject's subscription ended and when erasure falls due, the first time a
 * worker sees the end in the master record, so due erasures are found without the host calling again.
 */
export async function noteSubscriptionEnd(sql: Sql, subjectId: string, endedAt: Date, dueAt: Date): Promise<void> {
  await sql.query(
    `insert into subjects (id, subscription_ended_at, relationship_ended_at, erasure_due_at, erasure_reason)
     values ($1, $2, $2, $3, 'subscription-ended')
     on conflict (id) do update set subscription_ended_at = excluded.subscription_ended_at,
       relationship_ended_at = coalesce(subjects.relationship_ended_at, excluded.relationship_ended_at),
       erasure_due_at = least(coalesce(subjects.erasure_due_at, 'infinity'), excluded.erasure_due_at),
       erasure_reason = coalesce(subjects.erasure_reason, excluded.erasure_reason)
     where subjects.subscription_ended_at is distinct from excluded.subscription_ended_at`,
    [subjectId, endedAt, dueAt],
  );
}
