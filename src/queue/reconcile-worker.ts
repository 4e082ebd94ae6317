import type { Logger } from 'pino';
import { PartnerError, type PartnerAdapter, type SubjectRef, type UpsertInput } from '../adapter.ts';
import type { Keys } from '../keys.ts';
import { closeOpenIntents, writeIntent, writeIntents, writeOutcome, writeOutcomes, type IntentRow, type Trigger } from '../log/transfer-log.ts';
import { describePayload, minimise } from '../minimise.ts';
import type { Policy } from '../policy/index.ts';
import { erasureDueAt, withSubscriptionEnd } from '../lifecycle/erasure-schedule.ts';
import { InvalidRecordError, parseMasterRecord, type MasterRecord } from '../record.ts';
import { reconcile, type Action } from '../reconcile.ts';
import { getRecords, type RecordSource } from '../source.ts';
import type { Database } from '../store/database.ts';
import { loadStates, noteSubscriptionEnd, saveLink, type LinkUpdate, type StoredLink } from '../store/state.ts';
import type { JobResult, ReconcileJobData } from './job.ts';
import { Semaphore, type RateLimiter } from './rate-limit.ts';

export interface WorkerContext {
  readonly db: Database;
  readonly policy: Policy;
  readonly keys: Keys;
  readonly adapters: ReadonlyMap<string, PartnerAdapter>;
  readonly source: RecordSource;
  readonly limiter: RateLimiter;
  readonly concurrency: (partner: string) => Semaphore;
  readonly logger: Logger;
  readonly now: () => Date;
  /** Called after a partner confirmed an erasure, so the lifecycle can tell when erasure is complete. */
  onErased?: (subjectId: string, partner: string) => Promise<void>;
}

export interface WorkItem {
  readonly data: ReconcileJobData;
  /** 1 on the first try. */
  readonly attempt: number;
}

/** What reconcile decided for one job, with everything needed to carry it out. */
interface Plan {
  readonly item: WorkItem;
  readonly action: Action;
  readonly ref: SubjectRef;
  readonly link: StoredLink | null;
  readonly fields: readonly string[];
  readonly categories: readonly string[];
  /** The fields the policy allows this partner now. */
  readonly allowed: readonly string[];
}

/**
 * Runs a batch of reconcile jobs for one partner: loads records and state in bulk, decides per
 * subject with the pure reconcile(), and makes the calls that close the differences. Upserts go in
 * batch calls where the adapter has them. Each call: intent row committed, call, then outcome row and
 * link in one transaction. Returns one result per item, in order.
 */
export async function runReconcileJobs(ctx: WorkerContext, partner: string, items: readonly WorkItem[]): Promise<JobResult[]> {
  const adapter = ctx.adapters.get(partner);
  if (!adapter) return items.map(() => ({ status: 'deadletter', error: `no adapter is configured for partner ${partner}` }));
  const ids = items.map((i) => i.data.subjectId);
  const [records, states] = await Promise.all([getRecords(ctx.source, ids), loadStates(ctx.db, ids, partner)]);
  const now = ctx.now();
  const results: (JobResult | undefined)[] = items.map(() => undefined);
  const timeZone = ctx.policy.document.retention.timeZone;
  const plans: { index: number; plan: Plan }[] = [];
  const endings: Promise<void>[] = [];

  items.forEach((item, index) => {
    let record: MasterRecord | null;
    try {
      const raw = records.get(item.data.subjectId) ?? null;
      record = raw === null ? null : parseMasterRecord(raw);
      if (record && record.id !== item.data.subjectId) throw new InvalidRecordError(item.data.subjectId, [{ path: 'id', message: 'does not match the subject id asked for' }]);
    } catch (error) {
      if (!(error instanceof InvalidRecordError)) throw error;
      ctx.logger.warn({ subjectId: item.data.subjectId, partner, correlationId: item.data.correlationId, problems: error.problems }, 'invalid master record: nothing sent');
      results[index] = { status: 'deadletter', error: error.message };
      return;
    }
    const state = states.get(item.data.subjectId)!;
    const link = state.links.get(partner) ?? null;
    const hostIds = record ? hostIdsOf(record, partner) : [];
    const payload = record ? minimise(record, partner, ctx.policy) : null;
    const described = payload ? describePayload(payload, ctx.policy) : { fields: [], categories: [] };
    const action = reconcile({
      partner: ctx.policy.partner(partner),
      payload,
      payloadCategories: described.categories,
      digestOf: (p) => ctx.keys.payloadDigest(p),
      hostIds,
      directives: withSubscriptionEnd(state.directives, record?.subscription?.end, timeZone),
      link,
      now,
      force: item.data.force ?? false,
    });
    const ref: SubjectRef = {
      pseudonym: ctx.keys.pseudonym(partner, item.data.subjectId),
      partnerIds: union(link?.partnerIds ?? [], hostIds),
    };
    const end = record?.subscription?.end;
    if (end && state.subscriptionEndedAt?.getTime() !== end.getTime()) {
      endings.push(noteSubscriptionEnd(ctx.db, item.data.subjectId, end, erasureDueAt(end, timeZone)));
    }
    plans.push({ index, plan: { item, action, ref, link, fields: described.fields, categories: described.categories, allowed: ctx.policy.allowedFields(partner) } });
  });

  await Promise.all(endings);
  const semaphore = ctx.concurrency(partner);
  const upserts = plans.filter((p) => p.plan.action.kind === 'upsert');
  const batched = adapter.upsertBatch && upserts.length > 1 ? upserts : [];
  const single = plans.filter((p) => !batched.includes(p));

  const batchSize = Math.max(1, adapter.maxBatchSize ?? 500);
  const batchRuns: Promise<void>[] = [];
  for (let i = 0; i < batched.length; i += batchSize) {
    const chunk = batched.slice(i, i + batchSize);
    batchRuns.push(
      semaphore.run(async () => {
        const chunkResults = await runBatch(ctx, adapter, chunk.map((c) => c.plan));
        chunk.forEach((c, j) => (results[c.index] = chunkResults[j]));
      }),
    );
  }
  await Promise.all([
    ...batchRuns,
    ...single.map(async ({ index, plan }) => {
      results[index] = await semaphore.run(() => runOne(ctx, adapter, plan));
    }),
  ]);
  return results.map((r) => r ?? { status: 'failed', error: 'no result' });
}

async function runOne(ctx: WorkerContext, adapter: PartnerAdapter, plan: Plan): Promise<JobResult> {
  const { action, item, ref, link } = plan;
  const partner = adapter.partner;
  const subjectId = item.data.subjectId;
  if (action.kind === 'none') {
    // Remember ids the host told us (balena devices) so an erasure can reach them after the record is gone.
    if (link === null ? ref.partnerIds.length > 0 : ref.partnerIds.length !== link.partnerIds.length) {
      await saveLink(ctx.db, subjectId, partner, {
        partnerIds: ref.partnerIds,
        digest: link?.digest ?? null,
        holds: link?.holds ?? false,
        suppressed: link?.suppressed ?? false,
      });
    }
    return { status: 'completed', action: `none:${action.reason}` };
  }

  const operation = action.kind;
  const call = pickCall(adapter, plan, ctx.keys);
  if (!call) return { status: 'deadletter', error: `the ${partner} adapter cannot ${operation}` };

  const intent = intentRow(ctx, plan, partner, operation, action.kind === 'upsert' ? action.digest : undefined);
  const intentSeq = await ctx.db.transaction(async (tx) => {
    await closeOpenIntents(tx, subjectId, partner);
    return writeIntent(tx, intent);
  });
  const started = performance.now();
  try {
    await ctx.limiter.acquire(partner);
    const result = await call();
    const update = linkAfter(plan, result.partnerIds);
    await ctx.db.transaction(async (tx) => {
      await writeOutcome(tx, intentSeq, { outcome: 'ok', partnerId: result.partnerIds[0], durationMs: performance.now() - started });
      await saveLink(tx, subjectId, partner, update);
    });
    if (action.kind === 'erase') await ctx.onErased?.(subjectId, partner);
    ctx.logger.info({ subjectId, partner, operation, correlationId: item.data.correlationId, fields: plan.fields }, 'transfer ok');
    return { status: 'completed', action: operation };
  } catch (error) {
    return failed(ctx, plan, partner, operation, error, async (outcome) => writeOutcome(ctx.db, intentSeq, { ...outcome, durationMs: performance.now() - started }));
  }
}

/** The adapter call for a plan, returning the partner ids the subject has there afterwards. */
function pickCall(adapter: PartnerAdapter, plan: Plan, keys: WorkerContext['keys']): (() => Promise<{ partnerIds: string[] }>) | undefined {
  const { action, ref, item } = plan;
  const ctx = { correlationId: item.data.correlationId, idempotencyKey: idempotencyKey(plan, adapter.partner, keys) };
  switch (action.kind) {
    case 'upsert':
      if (!adapter.upsert) return undefined;
      return async () => {
        const input = upsertInput(plan, action);
        const r = await adapter.upsert!(input, ctx);
        return { partnerIds: union([r.partnerId], ref.partnerIds) };
      };
    case 'erase':
      return async () => {
        await adapter.erase(ref, action.mode, ctx);
        return { partnerIds: [] };
      };
    case 'suppress':
      if (!adapter.suppress) return undefined;
      return async () => {
        const r = await adapter.suppress!(ref, ctx);
        return { partnerIds: union([r.partnerId], ref.partnerIds) };
      };
    default:
      return undefined;
  }
}

function upsertInput(plan: Plan, action: Extract<Action, { kind: 'upsert' }>): UpsertInput {
  const cleared = (plan.link?.lastFields ?? []).filter((f) => !plan.fields.includes(f) && plan.allowed.includes(f));
  return {
    payload: action.payload,
    ref: plan.ref,
    ...(action.subscription ? { subscription: action.subscription } : {}),
    ...(cleared.length > 0 ? { cleared } : {}),
  };
}

function linkAfter(plan: Plan, partnerIds: readonly string[]): LinkUpdate {
  const { action, link } = plan;
  switch (action.kind) {
    case 'upsert':
      return {
        partnerIds,
        digest: action.digest,
        holds: true,
        suppressed: false,
        sentFields: plan.fields,
        ...(action.consentEntryId ? { consentEntryApplied: action.consentEntryId } : {}),
      };
    case 'suppress':
      return { partnerIds, digest: link?.digest ?? null, holds: true, suppressed: true };
    default:
      return { partnerIds: [], digest: null, holds: false, suppressed: false, erased: true, consentEntryApplied: null };
  }
}

async function runBatch(ctx: WorkerContext, adapter: PartnerAdapter, plans: readonly Plan[]): Promise<JobResult[]> {
  const partner = adapter.partner;
  const intents = plans.map((p) => intentRow(ctx, p, partner, 'upsert_batch', p.action.kind === 'upsert' ? p.action.digest : undefined));
  const seqs = await ctx.db.transaction(async (tx) => {
    for (const p of plans) await closeOpenIntents(tx, p.item.data.subjectId, partner);
    return writeIntents(tx, intents);
  });
  const started = performance.now();
  const inputs = plans.map((p) => upsertInput(p, p.action as Extract<Action, { kind: 'upsert' }>));
  try {
    await ctx.limiter.acquire(partner);
    const callResults = await adapter.upsertBatch!(inputs, {
      correlationId: plans[0]!.item.data.correlationId,
      idempotencyKey: ctx.keys.payloadDigest(plans.map((p) => idempotencyKey(p, partner, ctx.keys))).slice(0, 48),
    });
    const durationMs = performance.now() - started;
    const results: JobResult[] = [];
    await ctx.db.transaction(async (tx) => {
      await writeOutcomes(
        tx,
        plans.map((p, i) => {
          const r = callResults[i];
          return r?.ok
            ? { intentSeq: seqs[i]!, outcome: 'ok' as const, partnerId: r.partnerId, durationMs }
            : { intentSeq: seqs[i]!, outcome: 'failed' as const, httpStatus: r?.error.status, errorCode: r?.error.code ?? 'missing_result', durationMs };
        }),
      );
      for (const [i, p] of plans.entries()) {
        const r = callResults[i];
        if (r?.ok) {
          await saveLink(tx, p.item.data.subjectId, partner, linkAfter(p, union([r.partnerId], p.ref.partnerIds)));
          results.push({ status: 'completed', action: 'upsert' });
        } else {
          const error = r?.error ?? new PartnerError({ partner, operation: 'upsert_batch', kind: 'retryable', code: 'missing_result' });
          results.push(error.retryable ? { status: 'failed', error: error.message } : { status: 'deadletter', error: error.message });
        }
      }
    });
    return results;
  } catch (error) {
    const results: JobResult[] = [];
    for (const [i, p] of plans.entries()) {
      results.push(await failed(ctx, p, partner, 'upsert_batch', error, (outcome) => writeOutcome(ctx.db, seqs[i]!, { ...outcome, durationMs: performance.now() - started }), i === 0));
    }
    return results;
  }
}

async function failed(
  ctx: WorkerContext,
  plan: Plan,
  partner: string,
  operation: string,
  error: unknown,
  writeFailure: (o: { outcome: 'failed'; httpStatus?: number; errorCode?: string }) => Promise<void>,
  applyPause = true,
): Promise<JobResult> {
  const partnerError =
    error instanceof PartnerError
      ? error
      : // Anything else is a bug or an unwrapped network error: retry it, but never echo its message (it may quote a body).
        new PartnerError({ partner, operation, kind: 'retryable', code: (error as { code?: string })?.code ?? 'unexpected_error', detail: (error as Error)?.name });
  await writeFailure({ outcome: 'failed', httpStatus: partnerError.status, errorCode: partnerError.code ?? partnerError.kind });
  if (applyPause && partnerError.retryAfterMs !== undefined) await ctx.limiter.pause(partner, partnerError.retryAfterMs);
  ctx.logger.warn(
    { subjectId: plan.item.data.subjectId, partner, operation, correlationId: plan.item.data.correlationId, status: partnerError.status, code: partnerError.code, kind: partnerError.kind },
    'transfer failed',
  );
  return partnerError.retryable ? { status: 'failed', error: partnerError.message } : { status: 'deadletter', error: partnerError.message };
}

function intentRow(ctx: WorkerContext, plan: Plan, partner: string, operation: string, payloadDigest: string | undefined): IntentRow {
  const partnerPolicy = ctx.policy.partner(partner);
  const sends = plan.action.kind === 'upsert';
  return {
    subjectId: plan.item.data.subjectId,
    partner,
    operation,
    purpose: partnerPolicy.purpose,
    legalBasis: ctx.policy.legalBasis(partner),
    trigger: triggerFor(plan),
    operator: plan.item.data.operator,
    correlationId: plan.item.data.correlationId,
    fields: sends ? plan.fields : [],
    categories: sends ? plan.categories : [],
    payloadDigest,
    partnerId: plan.ref.partnerIds[0],
    attempt: plan.item.attempt,
    policyDigest: ctx.policy.digest,
  };
}

function triggerFor(plan: Plan): Trigger {
  const { action } = plan;
  if (action.kind === 'erase' && action.reason === 'erasure') return 'erasure';
  if (action.kind === 'suppress' || (action.kind === 'erase' && action.reason === 'consent-withdrawn')) return 'consent';
  if (action.kind === 'upsert' && action.subscription) return 'consent';
  return plan.item.data.trigger;
}

/**
 * Deterministic for one transition (what the partner acknowledged last -> what we send now), so a
 * retried job repeats its key and the partner does the work once; a later change back to an earlier
 * payload (A -> B -> A) is a different transition with a different key, so it is not replayed stale.
 */
function idempotencyKey(plan: Plan, partner: string, keys: { payloadDigest(v: unknown): string }): string {
  const { action, link } = plan;
  const target = action.kind === 'upsert' ? { digest: action.digest, subscription: action.subscription ?? null } : action.kind;
  const transition = keys.payloadDigest({ partner, subject: plan.ref.pseudonym, from: link?.digest ?? null, suppressed: link?.suppressed ?? false, target });
  return `pgw-${partner}-${action.kind}-${transition.slice(0, 40)}`;
}

function hostIdsOf(record: MasterRecord, partner: string): string[] {
  const ids = record.partnerIds[partner];
  return ids === undefined ? [] : Array.isArray(ids) ? ids : [ids];
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

