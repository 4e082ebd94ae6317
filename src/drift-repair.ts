import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { PartnerAdapter } from './adapter.ts';
import { writeEvent, type Trigger } from './log/transfer-log.ts';
import type { BatchPlan } from './plan/batch.ts';
import type { Policy } from './policy/index.ts';
import type { JobResult } from './schedule/job.ts';
import type { Keys } from './keys.ts';
import type { Sql } from './store/database.ts';

/**
 * An update of a subject the partner should hold that found it gone (deleted by hand at the partner)
 * is repaired by the adapter creating it again (Stripe, Auth0; Intercom, E-logistik and Mailchimp
 * upsert by nature). Told by the link afterwards naming an id the update did not address; logged
 * and recorded in the transfer log as `drift_repaired`, so the repair is never silent.
 */
export async function noteDriftRepairs(
  deps: { readonly db: Sql; readonly policy: Policy; readonly logger: Logger; readonly keys: Pick<Keys, 'audit'> },
  adapter: Pick<PartnerAdapter, 'partner' | 'personalIds'>,
  batch: readonly { readonly plan: BatchPlan; readonly trigger: Trigger; readonly operator?: string | undefined }[],
  results: readonly JobResult[],
): Promise<void> {
  // A partner keyed by a personal value (Mailchimp's hash of the email) answers with a new id when
  // that value changes: a new id there is a re-key, not a repair.
  if (adapter.personalIds) return;
  const partner = adapter.partner;
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
  const rows = await deps.db.query<{ subject_id: string; current_id: string | null }>(
    `select subject_id, current_id from links where partner = $1 and subject_id = any($2::text[])`,
    [partner, updates.map((u) => u.plan.subjectId)],
  );
  const now = new Map(rows.map((r) => [r.subject_id, r.current_id]));
  for (const { plan, trigger, operator } of updates) {
    if (plan.kind !== 'ready') continue;
    const current = now.get(plan.subjectId);
    if (!current || plan.ref.partnerIds.includes(current)) continue;
    deps.logger.warn(
      { subjectId: plan.subjectId, partner },
      'drift repaired: the partner had lost the subject; created again',
    );
    await writeEvent(
      deps.db,
      {
        subjectId: plan.subjectId,
        partner,
        operation: 'drift_repaired',
        trigger,
        ...(operator ? { operator } : {}),
        correlationId: randomUUID(),
        policyDigest: deps.policy.digest,
      },
      deps.keys.audit,
    );
  }
}
