import { randomUUID } from 'node:crypto';
import type { PartnerAdapter } from '../adapter.ts';
import { planBatch, type PlanDeps } from '../plan/batch.ts';
import { union } from '../plan/plan.ts';
import { isErased } from '../reconcile.ts';
import { idempotencyKey } from './idempotency.ts';
import type { Transfer } from './transfer.ts';

export class ActionRefusedError extends Error {
  override readonly name = 'ActionRefusedError';
}

export interface ActionDeps extends PlanDeps {
  readonly adapters: ReadonlyMap<string, PartnerAdapter>;
  readonly transfer: Transfer;
}

/**
 * A one-off action at an action partner (Twilio: place an alarm call), made now rather than queued:
 * an alarm cannot wait for a worker. It is planned like a sync (the record parsed and checked to be
 * the subject's, only the allowed fields, erasure and restriction respected) and sent through
 * transfer (intent before, outcome after, paced, the partner's id kept so erasure reaches it). It is
 * not retried here: a blind retry could ring twice (the adapter says when a failure is surely safe to
 * repeat, and the caller decides).
 */
export async function performAction(
  deps: ActionDeps,
  partner: string,
  subjectId: string,
  action: string,
  params: Readonly<Record<string, unknown>>,
  operator?: string,
): Promise<{ partnerId: string; correlationId: string }> {
  const adapter = deps.adapters.get(partner);
  if (!adapter?.act) throw new ActionRefusedError(`partner ${partner} has no adapter that performs actions`);
  const partnerPolicy = deps.policy.partner(partner);
  if (partnerPolicy.mode !== 'action') {
    throw new ActionRefusedError(`partner ${partner} is not an action partner in the policy`);
  }
  const [plan] = await planBatch(deps, partner, [{ subjectId }]);
  if (plan!.kind !== 'ready') throw new ActionRefusedError(`subject ${subjectId}: ${plan!.reason}`);
  const { record, ref, fields, categories, directives, payload } = plan!;
  if (record === null || payload === null) throw new ActionRefusedError(`subject ${subjectId} has no master record`);
  if (isErased(directives, deps.now()))
    throw new ActionRefusedError(`subject ${subjectId} is erased: nothing may be sent`);
  if (directives.restricted) throw new ActionRefusedError(`subject ${subjectId} is restricted: nothing may be sent`);
  const missing = partnerPolicy.requires.filter((c) => !categories.includes(c));
  if (missing.length > 0)
    throw new ActionRefusedError(`subject ${subjectId} has no ${missing.join(', ')} for ${partner}`);

  const correlationId = randomUUID();
  let partnerId: string | undefined;
  const [unit] = await deps.transfer.run(partner, [
    {
      operation: `action:${action}`,
      correlationId,
      idempotencyKey: idempotencyKey(deps.keys, partner, `action:${action}`, correlationId),
      members: [
        {
          subjectId,
          sendsData: true,
          intent: {
            operation: `action:${action}`,
            trigger: 'action',
            operator,
            correlationId,
            fields,
            categories,
            payloadDigest: deps.keys.payloadDigest(payload),
            attempt: 1,
          },
          linkAfter: (partnerIds) => ({ partnerIds, digest: null, holds: true, suppressed: false, sentFields: fields }),
        },
      ],
      call: async (ctx) => {
        partnerId = (await adapter.act!({ action, payload, ref, params }, ctx)).partnerId;
        return [{ ok: true, partnerIds: union(ref.partnerIds, [partnerId]) }];
      },
    },
  ]);
  const settled = unit![0]!;
  if (settled.outcome === 'skipped')
    throw new ActionRefusedError(`subject ${subjectId} is erased: nothing may be sent`);
  if (!settled.result.ok) throw settled.result.error;
  return { partnerId: partnerId!, correlationId };
}
