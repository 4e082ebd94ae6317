import type { RestrictionMode } from '../policy/index.ts';
import type { ConsentState, Directives, Link } from '../reconcile.ts';
import type { Sql } from './database.ts';
import type { Statement } from './statements.ts';
import { erasedParams, erasedQuery, type ErasureMarks } from './erased.ts';

/** Everything reconcile needs about a subject besides the master record, loaded in bulk. */
export interface SubjectState {
  readonly directives: Directives;
  readonly subscriptionEndedAt: Date | null;
  readonly links: ReadonlyMap<string, StoredLink>;
  /** The subject's record is noted missing (see src/missing-records.ts). */
  readonly missing: boolean;
}

export type StoredLink = Link & {
  readonly lastSentAt: Date | null;
  readonly lastFields: readonly string[];
  /** The policy digest the partner's payload was last noted under (resync notes only the links that differ). */
  readonly policyDigest?: string | null;
};

const emptyDirectives: Directives = { tombstoned: false, erasureDueAt: null, restricted: false, consent: {} };

/**
 * Everything about any number of subjects in one statement (a JSON array per table): resync streams
 * thousands at a time through this, and every reconcile batch starts with it, so one round trip and
 * one statement rather than five side by side (which, for an erasure's seven partner jobs at once,
 * queued on the connection pool).
 */
export async function loadStates(
  sql: Sql,
  keys: ErasureMarks,
  subjectIds: readonly string[],
  partner?: string,
): Promise<Map<string, SubjectState>> {
  const ids = [...new Set(subjectIds)];
  const agg = (query: string) => `(select coalesce(json_agg(x), '[]'::json) from (${query}) x)`;
  const [row] = await sql.query<{
    subjects: {
      id: string;
      known: boolean;
      restricted: boolean;
      erasure_due_at: string | null;
      subscription_ended_at: string | null;
      missing: boolean;
    }[];
    erased: { id: string }[];
    consent: { subject_id: string; purpose: string; status: 'granted' | 'withdrawn'; id: string }[];
    links: LinkRow[];
    unsettled: { subject_id: string; partner: string }[];
  }>(
    // Every id gets an entry, with or without a subjects row, so "missing" costs no query of its own.
    // Per-id lateral lookups (kept apart by `limit 1` and `offset 0`, which stop the planner from
    // merging them into a join): with `= any($1)` or a join, it scanned subjects, links and the consent
    // ledger whole for every chunk of 100 while they held some 10,000 rows, which cost the database
    // 3.6 times what these lookups do (explain analyze: 3.7 against 1.0 ms, 7.2 against 2.0 ms).
    // Resync reads every link row there is: a link's time and field list travel in the forms cheapest
    // to parse (a number, a comma-joined string: field paths hold no commas).
    `select
       ${agg(`select u.id, s.id is not null as known, s.restricted_at is not null as restricted, s.erasure_due_at,
           s.subscription_ended_at, exists (select 1 from missing_records m where m.subject_id = u.id) as missing
         from unnest($1::text[]) as u(id) left join lateral (select id, restricted_at, erasure_due_at, subscription_ended_at from subjects
           where subjects.id = u.id limit 1) s on true`)} as subjects,
       ${agg(erasedQuery(2))} as erased,
       ${agg(`select u.id as subject_id, c.purpose, c.status, c.id::text as id from unnest($1::text[]) as u(id)
         cross join lateral (select distinct on (purpose) purpose, status, id from consent_ledger
           where subject_id = u.id order by purpose, consent_ledger.id desc) c`)} as consent,
       ${agg(`select subject_id, partner, partner_ids, digest, holds, consent_entry_applied, suppressed,
           (extract(epoch from last_sent_at) * 1000)::float8 as last_sent_ms, array_to_string(last_fields, ',') as last_fields,
           erased_at is not null as erased, uncertain_since is not null as uncertain, current_id, restriction_applied,
           policy_digest
         from unnest($1::text[]) as u(id) cross join lateral (select * from links
           where links.subject_id = u.id ${partner ? 'and links.partner = $6' : ''} offset 0) links`)} as links,
       ${agg(openSendingIntentsQuery(1, 5, partner ? 6 : undefined))} as unsettled`,
    [ids, ...erasedParams(keys, ids), NON_SENDING_OPERATIONS, ...(partner ? [partner] : [])],
  );
  const { subjects, consent, links, unsettled } = row!;
  const erased = row!.erased.map((e) => e.id);
  const out = new Map<
    string,
    { directives: Directives; subscriptionEndedAt: Date | null; links: Map<string, StoredLink>; missing: boolean }
  >();
  for (const id of ids)
    out.set(id, {
      directives: { ...emptyDirectives, consent: {} },
      subscriptionEndedAt: null,
      links: new Map(),
      missing: false,
    });
  for (const s of subjects) {
    const state = out.get(s.id)!;
    state.missing = s.missing;
    if (!s.known) continue;
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
  // An intent that sent data and has no outcome yet (its worker died) may have left a record behind.
  for (const u of unsettled) {
    const state = out.get(u.subject_id)!;
    state.links.set(u.partner, { ...(state.links.get(u.partner) ?? absentLink), uncertain: true });
  }
  return out;
}

const absentLink: StoredLink = {
  partnerIds: [],
  digest: null,
  holds: false,
  consentEntryApplied: null,
  suppressed: false,
  erased: false,
  lastSentAt: null,
  lastFields: [],
  restrictionApplied: null,
};

/** Operations that send nothing a partner could keep: reads and erasures. */
export const NON_SENDING_OPERATIONS = [
  'erase',
  'fetch',
  'find',
  'erase_old_pseudonym',
  'restrict',
  'unrestrict',
] as const;

/** (subject, partner) pairs with an intent that sent data and has no outcome recorded. */
export async function openSendingIntents(
  sql: Sql,
  subjectIds: readonly string[],
  partner?: string,
): Promise<{ subject_id: string; partner: string }[]> {
  return sql.query<{ subject_id: string; partner: string }>(
    openSendingIntentsQuery(1, 2, partner ? 3 : undefined),
    partner ? [subjectIds, NON_SENDING_OPERATIONS, partner] : [subjectIds, NON_SENDING_OPERATIONS],
  );
}

/** openSendingIntents' query, with the numbers of its parameters (ids, NON_SENDING_OPERATIONS, partner). */
function openSendingIntentsQuery(ids: number, operations: number, partner: number | undefined): string {
  return `select distinct i.subject_id, i.partner from transfer_log i
     where i.kind = 'intent' and i.subject_id = any($${ids}::text[]) and i.operation <> all($${operations}::text[])
       ${partner ? `and i.partner = $${partner}` : ''}
       and not exists (select 1 from transfer_log o where o.kind = 'outcome' and o.intent_seq = i.seq)`;
}

/**
 * Marks (subject, partner) uncertain: a call that sent data ended with its outcome unknown. Kept from
 * the first time until resolved (see LinkUpdate.uncertainResolvedBefore), so the erasure looks.
 */
export async function markUncertain(sql: Sql, partner: string, subjectIds: readonly string[]): Promise<void> {
  if (subjectIds.length === 0) return;
  await sql.query(
    `insert into links (subject_id, partner, partner_ids, holds, uncertain_since, updated_at)
     select s, $1, '[]'::jsonb, false, clock_timestamp(), clock_timestamp() from unnest($2::text[]) as s
     on conflict (subject_id, partner) do update set
       uncertain_since = coalesce(links.uncertain_since, excluded.uncertain_since), updated_at = clock_timestamp()`,
    [partner, [...new Set(subjectIds)]],
  );
}

interface LinkRow {
  subject_id: string;
  partner: string;
  partner_ids: string[] | string;
  digest: string | null;
  holds: boolean;
  consent_entry_applied: string | null;
  suppressed: boolean;
  last_sent_ms: number | string | null;
  last_fields: string | null;
  erased: boolean;
  uncertain: boolean;
  current_id: string | null;
  restriction_applied: RestrictionMode | null;
  policy_digest: string | null;
}

function toLink(row: LinkRow): StoredLink {
  return {
    partnerIds: typeof row.partner_ids === 'string' ? (JSON.parse(row.partner_ids) as string[]) : row.partner_ids,
    digest: row.digest,
    holds: row.holds,
    consentEntryApplied: row.consent_entry_applied,
    suppressed: row.suppressed,
    erased: row.erased,
    uncertain: row.uncertain,
    currentId: row.current_id,
    restrictionApplied: row.restriction_applied ?? null,
    lastSentAt: row.last_sent_ms === null ? null : new Date(Number(row.last_sent_ms)),
    lastFields: row.last_fields ? row.last_fields.split(',') : [],
    policyDigest: row.policy_digest,
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
  /**
   * The partner was searched for everything it holds for the subject (an erase that found and removed
   * what was made under unlearned ids): an uncertainty marked before this time is resolved.
   */
  readonly uncertainResolvedBefore?: Date;
  /** Ids another live subject claims were left out of this erasure: an operator settles it. */
  readonly conflict?: boolean;
  /** The id the partner answered with (its current key); kept when absent, cleared by an erase. */
  readonly currentId?: string;
  /** The policy digest the sent payload was made under; kept when absent, cleared by an erase. */
  readonly policyDigest?: string;
  /** The restriction behaviour carried out (null: lifted); kept as it is when absent. */
  readonly restrictionApplied?: RestrictionMode | null;
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
  const upsert = linksUpsert(partner, rows);
  if (upsert) await sql.query(upsert.text, upsert.params);
}

/** saveLinks' statement, to run together with the outcome rows it commits with (runTogether). */
export function linksUpsert(
  partner: string,
  rows: readonly { subjectId: string; update: LinkUpdate }[],
): Statement | undefined {
  if (rows.length === 0) return undefined;
  const col = <T>(f: (u: LinkUpdate) => T) => rows.map((r) => f(r.update));
  return {
    // The columns whose update depends on a per-row flag the table has no column for (whether the
    // consent entry is set, when uncertainty was resolved, a conflict, a restriction change) are
    // decided here, against the row as it stands, and reach the update as excluded.*: a subquery per
    // conflicting row over the parameter arrays made each upsert quadratic (500 existing links took
    // 0.57 s on PGlite, 2,000 took 4.4 s). Only one job works a (subject, partner) at a time, so the
    // row read here is the row the update then locks.
    text: `insert into links (subject_id, partner, partner_ids, digest, holds, consent_entry_applied, suppressed, last_sent_at, last_fields, erased_at, updated_at, current_id, policy_digest, restriction_applied, uncertain_since, conflict_since)
     select u.subject_id, $1, u.partner_ids::jsonb, u.digest, u.holds,
       case when u.sets_consent or l.subject_id is null then u.consent_entry_applied else l.consent_entry_applied end,
       u.suppressed,
       case when u.sent then clock_timestamp() end, coalesce(string_to_array(u.sent_fields, ','), '{}'),
       case when u.erased then clock_timestamp() end, clock_timestamp(), u.current_id, u.policy_digest,
       case when l.subject_id is null then nullif(u.restriction, 'lifted')
         when u.erased then null
         else coalesce(nullif(u.restriction, 'lifted'), case when u.restriction is null then l.restriction_applied end) end,
       case when l.uncertain_since <= u.resolved_before then null else l.uncertain_since end,
       case when l.subject_id is null then null
         when u.conflict then coalesce(l.conflict_since, clock_timestamp()) else l.conflict_since end
     from unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::text[], $7::boolean[], $8::boolean[], $9::text[], $10::boolean[], $11::boolean[], $12::timestamptz[], $13::boolean[], $14::text[], $15::text[], $16::text[])
       as u(subject_id, partner_ids, digest, holds, consent_entry_applied, suppressed, sent, sent_fields, erased, sets_consent, resolved_before, conflict, current_id, policy_digest, restriction)
     left join lateral (select subject_id, consent_entry_applied, restriction_applied, uncertain_since, conflict_since
       from links where links.subject_id = u.subject_id and links.partner = $1 offset 0) l on true
     on conflict (subject_id, partner) do update set
       partner_ids = excluded.partner_ids, digest = excluded.digest, holds = excluded.holds,
       consent_entry_applied = excluded.consent_entry_applied,
       suppressed = excluded.suppressed,
       last_sent_at = coalesce(excluded.last_sent_at, links.last_sent_at),
       last_fields = case when excluded.last_sent_at is null then links.last_fields else excluded.last_fields end,
       erased_at = case when excluded.erased_at is not null then excluded.erased_at when excluded.holds then null else links.erased_at end,
       uncertain_since = excluded.uncertain_since,
       conflict_since = excluded.conflict_since,
       current_id = case when excluded.erased_at is not null then null else coalesce(excluded.current_id, links.current_id) end,
       policy_digest = case when excluded.erased_at is not null then null else coalesce(excluded.policy_digest, links.policy_digest) end,
       restriction_applied = excluded.restriction_applied,
       updated_at = clock_timestamp()`,
    params: [
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
      col((u) => u.uncertainResolvedBefore ?? null),
      col((u) => u.conflict ?? false),
      col((u) => u.currentId ?? null),
      col((u) => u.policyDigest ?? null),
      // null: keep the column as it is; 'lifted': clear it.
      col((u) => (u.restrictionApplied === undefined ? null : (u.restrictionApplied ?? 'lifted'))),
    ],
  };
}

/**
 * Links a resync found in step with the policy (nothing to send: the payload this policy makes is
 * the one the partner holds) are noted as under this policy's digest; status counts the others.
 */
export async function notePolicyDigest(
  sql: Sql,
  partner: string,
  subjectIds: readonly string[],
  policyDigest: string,
): Promise<void> {
  if (subjectIds.length === 0) return;
  await sql.query(
    `update links set policy_digest = $3
     where partner = $1 and subject_id = any($2::text[]) and holds and policy_digest is distinct from $3`,
    [partner, subjectIds, policyDigest],
  );
}

/** Ensures a subjects row exists (directives hang off it). */
export async function touchSubject(sql: Sql, subjectId: string): Promise<void> {
  await sql.query(`insert into subjects (id) values ($1) on conflict (id) do nothing`, [subjectId]);
}

/**
 * Records the subscription end the master record carries now, and when erasure falls due by it
 * (null and null: renewed, nothing is due). The retention clock (relationship_ended_at) runs from the
 * end that stands. Once the subject is tombstoned, or a due date has passed, the schedule is final.
 */
export async function noteSubscription(
  sql: Sql,
  subjectId: string,
  endedAt: Date | null,
  dueAt: Date | null,
): Promise<void> {
  await sql.query(
    `insert into subjects (id, subscription_ended_at, relationship_ended_at, erasure_due_at, erasure_reason)
     values ($1, $2, $2, $3, case when $3::timestamptz is null then null else 'subscription-ended' end)
     on conflict (id) do update set subscription_ended_at = excluded.subscription_ended_at,
       relationship_ended_at = excluded.relationship_ended_at,
       erasure_due_at = excluded.erasure_due_at,
       erasure_reason = excluded.erasure_reason
     where subjects.subscription_ended_at is distinct from excluded.subscription_ended_at
       and not exists (select 1 from tombstones t where t.subject_id = subjects.id)`,
    [subjectId, endedAt, dueAt],
  );
}

/**
 * Remembers partner ids the host's record names (balena devices, an Auth0 user id) from the first
 * time any worker sees them, whichever partner it works for: the record may drop them or vanish
 * before that partner's next job, and an erasure must still reach them. Only adds; an erased link
 * keeps the list of what it erased.
 */
export async function rememberPartnerIds(
  sql: Sql,
  rows: readonly { readonly subjectId: string; readonly partner: string; readonly ids: readonly string[] }[],
): Promise<void> {
  const named = rows.filter((r) => r.ids.length > 0);
  if (named.length === 0) return;
  await sql.query(
    `insert into links (subject_id, partner, partner_ids, holds, updated_at)
     select u.subject_id, u.partner, u.ids::jsonb, false, clock_timestamp()
     from unnest($1::text[], $2::text[], $3::text[]) as u(subject_id, partner, ids)
     on conflict (subject_id, partner) do update set
       partner_ids = (select jsonb_agg(distinct e) from jsonb_array_elements(links.partner_ids || excluded.partner_ids) e),
       updated_at = clock_timestamp()
     where links.erased_at is null and not (links.partner_ids @> excluded.partner_ids)`,
    [named.map((r) => r.subjectId), named.map((r) => r.partner), named.map((r) => JSON.stringify(r.ids))],
  );
}

/**
 * Per subject, the ids of its link at the partner that another live subject's link claims as well
 * (a partner keyed by a personal value two customers share). Not erased for either: see conflict_since.
 */
export async function sharedPartnerIds(
  sql: Sql,
  partner: string,
  subjectIds: readonly string[],
): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (subjectIds.length === 0) return out;
  const rows = await sql.query<{ subject_id: string; id: string }>(
    `select l.subject_id, e.id from links l cross join lateral jsonb_array_elements_text(l.partner_ids) e(id)
     where l.partner = $1 and l.subject_id = any($2::text[]) and l.erased_at is null
       and exists (select 1 from links o
         where o.partner = l.partner and o.subject_id <> l.subject_id and o.erased_at is null
           and o.partner_ids @> jsonb_build_array(e.id)
           and not exists (select 1 from tombstones t where t.subject_id = o.subject_id))`,
    [partner, [...new Set(subjectIds)]],
  );
  for (const r of rows) (out.get(r.subject_id) ?? out.set(r.subject_id, new Set()).get(r.subject_id)!).add(r.id);
  return out;
}
