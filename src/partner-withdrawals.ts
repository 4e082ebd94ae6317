import { randomUUID } from 'node:crypto';
import type { PartnerAdapter } from './adapter.ts';
import type { Policy } from './policy/index.ts';
import type { Sql } from './store/database.ts';

/**
 * Partner-side withdrawals, read during a resync (GDPR Art. 7(3): withdrawing must be as easy as
 * giving consent, and a newsletter's own unsubscribe link is the easiest way there is). A member who
 * unsubscribed at the partner while the ledger says granted is recorded in the consent ledger as a
 * withdrawal with the partner as its source. Never the other way round: a member subscribed at the
 * partner is no grant, since consent is given to the controller, not to its newsletter platform.
 *
 * Only what the partner itself did counts: a member the gateway unsubscribed (a withdrawal applied,
 * a restriction's suppression) is skipped, and so is one whose current grant the partner was never
 * told about (a new grant still on its way there re-subscribes the member; it is not undone).
 */
export interface PartnerWithdrawalDeps {
  readonly sql: Sql;
  readonly policy: Policy;
  readonly adapters: ReadonlyMap<string, PartnerAdapter>;
  /** Records the withdrawal in the ledger (and so sends it on to every partner relying on the purpose). */
  readonly withdraw: (subjectId: string, purpose: string, input: { source: string; evidence: string }) => Promise<void>;
}

export interface PartnerWithdrawalCounts {
  /** Members the partner reports unsubscribed since the last check. */
  readonly unsubscribed: number;
  /** Of those, subjects whose grant the ledger now records as withdrawn (in a dry run: would record). */
  readonly withdrawals: number;
}

/** Read back this long before the last check's newest change, so a change at the boundary is not missed. */
const OVERLAP_MS = 5 * 60_000;

export async function recordPartnerWithdrawals(
  deps: PartnerWithdrawalDeps,
  partners: readonly string[],
  options: {
    readonly dryRun?: boolean | undefined;
    /** Only these subjects (a subject-limited resync reads everything and moves no checkpoint). */
    readonly subjects?: ReadonlySet<string> | undefined;
    readonly correlationId: string;
  },
): Promise<Record<string, PartnerWithdrawalCounts>> {
  const out: Record<string, PartnerWithdrawalCounts> = {};
  for (const partner of partners) {
    const adapter = deps.adapters.get(partner);
    const purpose = deps.policy.partner(partner).consent?.purpose;
    if (!adapter?.unsubscribedSince || !purpose) continue;
    // Nobody the partner could have unsubscribed on its own (no member told of a grant): no call.
    if (!(await anyEligible(deps.sql, partner, purpose, options.subjects))) {
      out[partner] = { unsubscribed: 0, withdrawals: 0 };
      continue;
    }
    const [checkpoint] = options.subjects
      ? []
      : await deps.sql.query<{ read_until: Date }>(
          `select read_until from partner_unsubscribe_checks where partner = $1`,
          [partner],
        );
    const since = checkpoint ? new Date(new Date(checkpoint.read_until).getTime() - OVERLAP_MS) : undefined;
    const ctx = { correlationId: options.correlationId, idempotencyKey: `unsubscribed-${randomUUID()}` };
    const { ids, newest } = await unsubscribed(adapter, since, ctx);
    const due = (await withdrawnAtPartner(deps.sql, partner, purpose, ids)).filter(
      (id) => !options.subjects || options.subjects.has(id),
    );
    if (!options.dryRun) {
      for (const subjectId of due)
        await deps.withdraw(subjectId, purpose, { source: partner, evidence: `${partner}:unsubscribed-at-partner` });
      if (!options.subjects)
        await deps.sql.query(
          `insert into partner_unsubscribe_checks (partner, read_until, checked_at) values ($1, $2, now())
           on conflict (partner) do update set read_until = greatest(partner_unsubscribe_checks.read_until, excluded.read_until), checked_at = now()`,
          [partner, newest],
        );
    }
    out[partner] = { unsubscribed: ids.length, withdrawals: due.length };
  }
  return out;
}

async function unsubscribed(
  adapter: PartnerAdapter,
  since: Date | undefined,
  ctx: { correlationId: string; idempotencyKey: string },
): Promise<{ ids: readonly string[]; newest: Date }> {
  // The partner compares since with its own clock: the wall clock (not the gateway's, which a host or
  // test may set) stands in for it, and the overlap covers what the two differ by.
  const started = new Date();
  return { ids: await adapter.unsubscribedSince!(since, ctx), newest: started };
}

/** The conditions under which a member's unsubscribe at the partner is the member's own (see below). */
const ELIGIBLE = `l.partner = $1 and l.holds and l.erased_at is null and not l.suppressed and l.restriction_applied is null
  and latest.status = 'granted' and latest.id = l.consent_entry_applied
  and not exists (select 1 from tombstones t where t.subject_id = l.subject_id)`;
const LATEST = `join lateral (select c.id::text as id, c.status from consent_ledger c
  where c.subject_id = l.subject_id and c.purpose = $2 order by c.id desc limit 1) latest on true`;

async function anyEligible(
  sql: Sql,
  partner: string,
  purpose: string,
  subjects: ReadonlySet<string> | undefined,
): Promise<boolean> {
  const rows = await sql.query(
    `select 1 from links l ${LATEST} where ${ELIGIBLE} ${subjects ? 'and l.subject_id = any($3::text[])' : ''} limit 1`,
    subjects ? [partner, purpose, [...subjects]] : [partner, purpose],
  );
  return rows.length > 0;
}

/**
 * The subjects the ids belong to whose current grant the partner was told about and that the gateway
 * did not unsubscribe itself: their unsubscribe is the member's own.
 */
async function withdrawnAtPartner(
  sql: Sql,
  partner: string,
  purpose: string,
  ids: readonly string[],
): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await sql.query<{ subject_id: string }>(
    `select l.subject_id from links l ${LATEST}
     where ${ELIGIBLE} and (l.current_id = any($3::text[]) or (l.current_id is null and l.partner_ids ?| $3::text[]))
     order by l.subject_id`,
    [partner, purpose, [...new Set(ids)]],
  );
  return rows.map((r) => r.subject_id);
}
