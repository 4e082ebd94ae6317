import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { writeEvent, type Trigger } from './log/transfer-log.ts';
import type { BatchPlan } from './plan/batch.ts';
import type { Policy } from './policy/index.ts';
import type { JobResult } from './schedule/job.ts';
import type { Sql } from './store/database.ts';

/**
 * An update of a subject the partner should hold that found it gone (deleted by hand at the partner)
 * is repaired by the adapter creating it again (Stripe, Auth0; Intercom, E-logistik and Mailchimp
 * upsert by nature). Told by the link afterwards naming an id the update did not address; logged
 * and recorded in the transfer log as `drift_repaired`, so the repair is never silent.
 */
export async function noteDriftRepairs(
  deps: { readonly db: Sql; readonly policy: Policy; readonly logger: Logger },
  partner: string,
  batch: readonly { readonly plan: BatchPlan; readonly trigger: Trigger; readonly operator?: string | undefined }[],
  results: readonly JobResult[],
): Promise<void> {
  const updates = batch.flatMap(({ plan, trigger, operator }, i) =>
    plan.kind === 'ready' &&
    plan.action.kind === 'upsert' &&
    !plan.action.create &&
    plan.ref.partnerIds.length > 0 &&
    results[i]?.status === 'completed'
      ? [{ plan, trigger, operator }]
      : [],
  );
  if (updates.length === 0) return;
  const rows = await deps.db.query<{ subject_id: string; partner_ids: string[] }>(
    `select subject_id, partner_ids from links where partner = $1 and subject_id = any($2::text[])`,
    [partner, updates.map((u) => u.plan.subjectId)],
  );
  const now = new Map(rows.map((r) => [r.subject_id, r.partner_ids]));
  for (const { plan, trigger, operator } of updates) {
    if (plan.kind !== 'ready') continue;
    const first = now.get(plan.subjectId)?.[0];
    if (first === undefined || plan.ref.partnerIds.includes(first)) continue;
    deps.logger.warn(
      { subjectId: plan.subjectId, partner },
      'drift repaired: the partner had lost the subject; created again',
    );
    await writeEvent(deps.db, {
      subjectId: plan.subjectId,
      partner,
      operation: 'drift_repaired',
      trigger,
      ...(operator ? { operator } : {}),
      correlationId: randomUUID(),
      policyDigest: deps.policy.digest,
    });
  }
}
