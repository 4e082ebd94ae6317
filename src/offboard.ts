import { randomUUID } from 'node:crypto';
import type { AuditKeyring } from './log/audit-keys.ts';
import { writeEvent } from './log/transfer-log.ts';
import type { Policy } from './policy/index.ts';
import type { Schedule } from './schedule/schedule.ts';
import type { Database } from './store/database.ts';

/**
 * Offboarding: a partner the policy no longer names is erased of everything the gateway knows it
 * holds. The jobs are ordinary reconcile jobs (plan says erase, reason `offboarded`), so every call
 * goes through transfer and the signed log; progress is read from the links table.
 */

/** Where the gateway believes the partner may hold something of the subject (see reconcile's offboarding). */
const MAY_HOLD = `(holds or uncertain_since is not null or (erased_at is null and partner_ids <> '[]'::jsonb))`;

export interface OffboardingStatus {
  readonly partner: string;
  /** Whether this gateway was given the partner's adapter: without it, nothing can be erased there. */
  readonly adapter: boolean;
  /** Subjects the partner may still hold something of. */
  readonly holding: number;
  /** Subjects whose erasure there the partner confirmed. */
  readonly erased: number;
  /** Nothing is left to erase there (holding is 0). */
  readonly done: boolean;
}

export interface OffboardSummary extends OffboardingStatus {
  /** Erase jobs enqueued (0 on a dry run). */
  readonly enqueued: number;
  readonly correlationId: string;
  readonly dryRun: boolean;
}

/** Partners the store has links for, or adapters were given for, that the policy does not name. */
export async function offboardingStatus(
  db: Database,
  policy: Pick<Policy, 'partnerNames'>,
  formerAdapters: readonly string[],
  only?: string,
): Promise<OffboardingStatus[]> {
  const rows = await db.query<{ partner: string; holding: number; erased: number }>(
    `select partner, count(*) filter (where ${MAY_HOLD})::int as holding,
       count(*) filter (where erased_at is not null and not holds)::int as erased
     from links where partner <> all($1::text[]) ${only ? 'and partner = $2' : ''} group by partner`,
    only ? [policy.partnerNames, only] : [policy.partnerNames],
  );
  const names = [...new Set([...rows.map((r) => r.partner), ...formerAdapters])]
    .filter((p) => only === undefined || p === only)
    .sort();
  return names.map((partner) => {
    const row = rows.find((r) => r.partner === partner);
    const holding = row?.holding ?? 0;
    return {
      partner,
      adapter: formerAdapters.includes(partner),
      holding,
      erased: row?.erased ?? 0,
      done: holding === 0,
    };
  });
}

/** The subjects to enqueue an offboarding erase for at the partner, in chunks. */
export async function* subjectsToOffboard(db: Database, partner: string, chunk = 1_000): AsyncGenerator<string[]> {
  let after = '';
  for (;;) {
    const rows = await db.query<{ subject_id: string }>(
      `select subject_id from links where partner = $1 and ${MAY_HOLD} and subject_id > $2
       order by subject_id limit $3`,
      [partner, after, chunk],
    );
    if (rows.length === 0) return;
    yield rows.map((r) => r.subject_id);
    after = rows[rows.length - 1]!.subject_id;
  }
}

export interface OffboardDeps {
  readonly db: Database;
  readonly policy: Pick<Policy, 'partnerNames' | 'digest'>;
  /** Partners with an adapter that the policy no longer names. */
  readonly former: readonly string[];
  readonly schedule: Pick<Schedule, 'enqueue'>;
  readonly keyring: AuditKeyring;
}

/**
 * Enqueues an erase at the former partner for every subject it may hold, and logs the operator's
 * decision under the jobs' correlation id, so the log ties each erasure to it.
 */
export async function offboardPartner(
  deps: OffboardDeps,
  partner: string,
  options: { operator?: string; dryRun?: boolean } = {},
): Promise<OffboardSummary> {
  const { db, policy, former } = deps;
  if (policy.partnerNames.includes(partner))
    throw new Error(`offboard ${partner}: the policy still names it (remove it from the policy first)`);
  if (!former.includes(partner))
    throw new Error(
      `offboard ${partner}: no adapter was given for it${former.length > 0 ? ` (former partners with one: ${former.join(', ')})` : ''}`,
    );
  const correlationId = randomUUID();
  const { operator, dryRun = false } = options;
  let enqueued = 0;
  if (!dryRun) {
    const job = { trigger: 'ops' as const, correlationId, ...(operator ? { operator } : {}) };
    for await (const ids of subjectsToOffboard(db, partner)) {
      await deps.schedule.enqueue(
        partner,
        ids.map((subjectId) => ({ subjectId, ...job })),
      );
      enqueued += ids.length;
    }
    const event = { partner, operation: 'offboard', trigger: 'ops' as const, correlationId };
    await writeEvent(db, { ...event, operator: operator ?? 'offboard', policyDigest: policy.digest }, deps.keyring);
  }
  const [progress] = await offboardingStatus(db, policy, former, partner);
  return { ...progress!, enqueued, correlationId, dryRun };
}
