import { clearMissing, noteMissing } from '../missing-records.ts';
import type { Sql } from '../store/database.ts';
import type { ReadyPlan } from './plan.ts';

/**
 * The workers' side of a vanished record (see src/missing-records.ts): a plan that would erase
 * because the source returned nothing holds instead (partners keep what they have) and the subject
 * is noted missing; a record read again cancels a pending "missing" (notedMissing: the subjects the
 * stored state says are noted). Resync's dry run decides through decideRead and never reaches here, so
 * it writes nothing.
 */
export async function holdMissing<P extends { readonly kind: string }>(
  db: Sql,
  plans: readonly (P | ReadyPlan)[],
  now: Date,
  notedMissing: ReadonlySet<string>,
): Promise<(P | ReadyPlan)[]> {
  const ready = plans.filter((p): p is ReadyPlan => p.kind === 'ready');
  const gone = ready.filter(isRecordGone).map((p) => p.subjectId);
  // Only a subject noted missing has anything to cancel: the others cost no statement.
  const back = ready.filter((p) => p.record !== null && notedMissing.has(p.subjectId)).map((p) => p.subjectId);
  await Promise.all([noteMissing(db, gone, now), clearMissing(db, back)]);
  if (gone.length === 0) return [...plans];
  return plans.map((p) =>
    p.kind === 'ready' && isRecordGone(p as ReadyPlan)
      ? { ...(p as ReadyPlan), action: { kind: 'none', reason: 'record-missing' } }
      : p,
  );
}

export function isRecordGone(plan: Pick<ReadyPlan, 'action'>): boolean {
  return plan.action.kind === 'erase' && plan.action.reason === 'record-gone';
}
