import { randomUUID } from 'node:crypto';
import { PartnerError } from '../adapter.ts';
import { withSubscriptionEnd } from '../lifecycle/erasure-schedule.ts';
import { closeOpenIntents, writeIntent, writeOutcome } from '../log/transfer-log.ts';
import { describePayload, minimise } from '../minimise.ts';
import { parseMasterRecord } from '../record.ts';
import { isErased } from '../reconcile.ts';
import { loadStates, saveLink } from '../store/state.ts';
import type { WorkerContext } from './reconcile-worker.ts';

export class ActionRefusedError extends Error {
  override readonly name = 'ActionRefusedError';
}

/**
 * A one-off action at an action partner (Twilio: place an alarm call), made now rather than queued:
 * an alarm cannot wait for a worker. The same rules hold as for a sync: only the allowed fields, an
 * intent row before and an outcome row after, the partner's id kept so erasure can reach it later.
 * An erased or restricted subject is refused. The call is not retried here: a blind retry could ring
 * twice (the adapter says when a failure is surely safe to repeat, and the caller decides).
 */
export async function performAction(
  ctx: WorkerContext,
  partner: string,
  subjectId: string,
  action: string,
  params: Readonly<Record<string, unknown>>,
  operator?: string,
): Promise<{ partnerId: string; correlationId: string }> {
  const adapter = ctx.adapters.get(partner);
  if (!adapter?.act) throw new ActionRefusedError(`partner ${partner} has no adapter that performs actions`);
  const partnerPolicy = ctx.policy.partner(partner);
  if (partnerPolicy.mode !== 'action')
    throw new ActionRefusedError(`partner ${partner} is not an action partner in the policy`);
  const raw = await ctx.source.get(subjectId);
  if (raw === null) throw new ActionRefusedError(`subject ${subjectId} has no master record`);
  const record = parseMasterRecord(raw);
  const state = (await loadStates(ctx.db, [subjectId], partner)).get(subjectId)!;
  const directives = withSubscriptionEnd(
    state.directives,
    record.subscription?.end,
    ctx.policy.document.retention.timeZone,
  );
  if (isErased(directives, ctx.now()))
    throw new ActionRefusedError(`subject ${subjectId} is erased: nothing may be sent`);
  if (directives.restricted) throw new ActionRefusedError(`subject ${subjectId} is restricted: nothing may be sent`);
  const payload = minimise(record, partner, ctx.policy);
  const { fields, categories } = describePayload(payload, ctx.policy);
  const missing = partnerPolicy.requires.filter((c) => !categories.includes(c));
  if (missing.length > 0)
    throw new ActionRefusedError(`subject ${subjectId} has no ${missing.join(', ')} for ${partner}`);

  const link = state.links.get(partner) ?? null;
  const ref = { pseudonym: ctx.keys.pseudonym(partner, subjectId), partnerIds: link?.partnerIds ?? [] };
  const correlationId = randomUUID();
  const intentSeq = await ctx.db.transaction(async (tx) => {
    await closeOpenIntents(tx, subjectId, partner);
    return writeIntent(tx, {
      subjectId,
      partner,
      operation: `action:${action}`,
      purpose: partnerPolicy.purpose,
      legalBasis: ctx.policy.legalBasis(partner),
      trigger: 'action',
      operator,
      correlationId,
      fields,
      categories,
      payloadDigest: ctx.keys.payloadDigest(payload),
      attempt: 1,
      policyDigest: ctx.policy.digest,
    });
  });
  const started = performance.now();
  try {
    await ctx.limiter.acquire(partner);
    const result = await adapter.act(
      { action, payload, ref, params },
      { correlationId, idempotencyKey: `pgw-${partner}-${correlationId}` },
    );
    await ctx.db.transaction(async (tx) => {
      await writeOutcome(tx, intentSeq, {
        outcome: 'ok',
        partnerId: result.partnerId,
        durationMs: performance.now() - started,
      });
      await saveLink(tx, subjectId, partner, {
        partnerIds: [...new Set([...ref.partnerIds, result.partnerId])],
        digest: null,
        holds: true,
        suppressed: false,
        sentFields: fields,
      });
    });
    return { partnerId: result.partnerId, correlationId };
  } catch (error) {
    const e = error instanceof PartnerError ? error : undefined;
    await writeOutcome(ctx.db, intentSeq, {
      outcome: e?.code === 'outcome_unknown' ? 'unknown' : 'failed',
      httpStatus: e?.status,
      errorCode: e?.code ?? 'unexpected_error',
      durationMs: performance.now() - started,
    });
    if (e?.retryAfterMs !== undefined) await ctx.limiter.pause(partner, e.retryAfterMs);
    throw (
      e ?? new PartnerError({ partner, operation: `action:${action}`, kind: 'retryable', code: 'unexpected_error' })
    );
  }
}
