import { randomUUID } from 'node:crypto';
import type { PartnerAdapter } from './adapter.ts';
import type { Keys } from './keys.ts';
import { fetchLive } from './lifecycle/access-report-live.ts';
import { inputs } from './lifecycle/inputs.ts';
import type { Policy } from './policy/index.ts';
import type { ReconcileJobData } from './schedule/job.ts';
import type { Sql } from './store/database.ts';
import type { Transfer } from './transfer/transfer.ts';

/**
 * Drift detection: asks partners what they hold (their `fetch`, through transfer like every call)
 * and compares it with what the gateway believes (the links). Only found / not found is kept: what a
 * partner returns is personal data and goes nowhere. A subject the gateway believes held but the
 * partner lost is repaired by a forced reconcile (the update that finds it gone creates it again,
 * logged `drift_repaired`); a partner holding what the gateway believes gone is reported for an
 * operator, never "repaired" by guessing.
 */
export interface DriftOptions {
  readonly subjects?: readonly string[];
  readonly partner?: string;
  /** Without subjects: how many (subject, partner) pairs to check, picked at random. Default 100. */
  readonly sample?: number;
  /** Enqueue the repairs (forced reconciles) for subjects a partner lost. */
  readonly repair?: boolean;
  readonly operator?: string;
}

export interface DriftFinding {
  readonly subjectId: string;
  readonly partner: string;
  /** What the gateway believes the partner holds. */
  readonly believed: 'held' | 'nothing';
  /** What the partner answered; unknown when the fetch failed (error says why). */
  readonly actual: 'held' | 'nothing' | 'unknown';
  readonly error?: string;
  /** A repair was enqueued (a forced reconcile). */
  readonly repairEnqueued: boolean;
}

export interface DriftReport {
  readonly checked: number;
  /** Only the pairs that differ, or could not be checked. */
  readonly findings: readonly DriftFinding[];
}

export interface DriftDeps {
  readonly db: Sql;
  readonly policy: Policy;
  readonly keys: Keys;
  readonly transfer: Transfer;
  readonly adapters: ReadonlyMap<string, PartnerAdapter>;
  readonly enqueue: (partner: string, jobs: readonly ReconcileJobData[]) => Promise<void>;
}

export async function detectDrift(deps: DriftDeps, options: DriftOptions = {}): Promise<DriftReport> {
  const partners = [...deps.adapters.values()]
    // A former partner (being offboarded) is owed nothing to compare: offboarding erases it.
    .filter(
      (a) => a.fetch && deps.policy.partnerNames.includes(a.partner) && deps.policy.partner(a.partner).mode === 'sync',
    )
    .map((a) => a.partner)
    .filter((p) => options.partner === undefined || p === options.partner);
  if (options.partner !== undefined && partners.length === 0)
    throw new Error(`drift: partner ${options.partner} has no adapter that can fetch`);
  const subjects = options.subjects?.map((id) => inputs.subjectId(id));
  const sample = options.sample ?? 100;
  if (!(Number.isInteger(sample) && sample > 0)) throw new Error('drift: sample must be a whole number above 0');
  const pairs = await deps.db.query<{ subject_id: string; partner: string; partner_ids: string[]; holds: boolean }>(
    subjects
      ? `select subject_id, partner, partner_ids, holds from links
         where partner = any($1::text[]) and subject_id = any($2::text[]) order by subject_id, partner`
      : `select subject_id, partner, partner_ids, holds from links
         where partner = any($1::text[]) and holds order by random() limit $2`,
    subjects ? [partners, subjects] : [partners, sample],
  );
  const findings: DriftFinding[] = [];
  const correlationId = randomUUID();
  for (const pair of pairs) {
    const adapter = deps.adapters.get(pair.partner)!;
    const live = await fetchLive(deps, adapter, pair.subject_id, pair.partner_ids);
    const believed = pair.holds ? 'held' : 'nothing';
    const actual = 'error' in live ? 'unknown' : live.found ? 'held' : 'nothing';
    if (believed === actual) continue;
    const repair = options.repair === true && believed === 'held' && actual === 'nothing';
    if (repair) {
      await deps.enqueue(pair.partner, [
        {
          subjectId: pair.subject_id,
          trigger: 'ops',
          correlationId,
          force: true,
          ...(options.operator ? { operator: options.operator } : {}),
        },
      ]);
    }
    findings.push({
      subjectId: pair.subject_id,
      partner: pair.partner,
      believed,
      actual,
      ...('error' in live && live.error ? { error: live.error } : {}),
      repairEnqueued: repair,
    });
  }
  return { checked: pairs.length, findings };
}
