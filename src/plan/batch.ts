import type { PartnerAdapter } from '../adapter.ts';
import type { Keys } from '../keys.ts';
import type { Policy } from '../policy/index.ts';
import { getRecords, type RecordSource } from '../source.ts';
import type { Sql } from '../store/database.ts';
import { loadStates } from '../store/state.ts';
import { withGenerations } from './generation.ts';
import { holdMissing } from './missing.ts';
import { planSubject, type SubjectPlan } from './plan.ts';

export interface PlanDeps {
  readonly db: Sql;
  readonly policy: Policy;
  readonly keys: Keys;
  readonly source: RecordSource;
  readonly now: () => Date;
  /** The partners' adapters: what each cannot clear once sent decides between an update and a re-creation. */
  readonly adapters?: ReadonlyMap<string, Pick<PartnerAdapter, 'cannotClear'>>;
  /** How long one source call may take (default SOURCE_TIMEOUT_MS). */
  readonly sourceTimeoutMs?: number | undefined;
}

/** The source could not be read for the subject (threw, or no answer in time): try again later. */
export interface SourceFailedPlan {
  readonly kind: 'source-failed';
  readonly subjectId: string;
  readonly partner: string;
  readonly reason: string;
}

export type BatchPlan = SubjectPlan | SourceFailedPlan;

/** Loads records and stored state for a batch in bulk and plans each subject, in the order given. */
export async function planBatch(
  deps: PlanDeps,
  partner: string,
  items: readonly { readonly subjectId: string; readonly force?: boolean | undefined }[],
): Promise<BatchPlan[]> {
  const ids = items.map((i) => i.subjectId);
  const [records, states] = await Promise.all([
    getRecords(deps.source, ids, deps.sourceTimeoutMs),
    loadStates(deps.db, deps.keys, ids, partner),
  ]);
  const now = deps.now();
  const plans = items.map(({ subjectId, force }): BatchPlan => {
    const read = records.get(subjectId)!;
    if (!read.ok) return { kind: 'source-failed', subjectId, partner, reason: read.reason };
    return planSubject({
      subjectId,
      partner,
      raw: read.record,
      state: states.get(subjectId)!,
      policy: deps.policy,
      keys: deps.keys,
      now,
      force,
      cannotClear: deps.adapters?.get(partner)?.cannotClear,
    });
  });
  const notedMissing = new Set(ids.filter((id) => states.get(id)!.missing));
  return withGenerations(deps.db, partner, await holdMissing(deps.db, plans, now, notedMissing));
}
