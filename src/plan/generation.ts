import type { Sql } from '../store/database.ts';
import type { ReadyPlan } from './plan.ts';

/**
 * A create after an erasure is a new generation of the subject at that partner, and must not share
 * an idempotency key with the create before it: Stripe keeps keys for 24 h and would answer the
 * second create with the first one's (deleted) customer. The idempotency key names the transition
 * from what the partner acknowledged last, and after an erasure that is "the n-th erasure", not
 * "nothing": the plan's view of the link says so. n counts the erase intents the transfer log holds
 * for (subject, partner), every attempt included, so it only grows, and a retry of the same create
 * (no erasure in between) keeps its key.
 */
export async function withGenerations<P extends { readonly kind: string }>(
  db: Sql,
  partner: string,
  plans: readonly (P | ReadyPlan)[],
): Promise<(P | ReadyPlan)[]> {
  const recreating = plans.flatMap((p) => (isRecreate(p) ? [p.subjectId] : []));
  if (recreating.length === 0) return [...plans];
  const rows = await db.query<{ subject_id: string; n: number }>(
    `select subject_id, count(*)::int as n from transfer_log
     where subject_id = any($1::text[]) and partner = $2 and kind = 'intent' and operation = 'erase'
     group by subject_id`,
    [recreating, partner],
  );
  const erasures = new Map(rows.map((r) => [r.subject_id, r.n]));
  return plans.map((plan) => {
    if (!isRecreate(plan)) return plan;
    const n = erasures.get(plan.subjectId);
    return n === undefined ? plan : { ...plan, link: { ...plan.link!, digest: erasedGeneration(n) } };
  });
}

/** A create where a link row exists with nothing acknowledged: the partner may have held the subject before. */
function isRecreate(plan: { readonly kind: string }): plan is ReadyPlan {
  if (plan.kind !== 'ready') return false;
  const { action, link } = plan as ReadyPlan;
  return action.kind === 'upsert' && action.create && link !== null && link.digest === null;
}

/** What a partner acknowledged last when that was its n-th erasure of the subject. */
export function erasedGeneration(n: number): string {
  return `erased#${n}`;
}
