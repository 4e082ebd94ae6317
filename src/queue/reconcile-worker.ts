import type { Logger } from 'pino';
import { PartnerError, type PartnerAdapter, type SubjectRef, type UpsertInput } from '../adapter.ts';
import type { Keys } from '../keys.ts';
import type { GatewayObserver } from '../observe.ts';
import { closeOpenIntents, writeIntents, writeOutcomes, type IntentRow, type Trigger } from '../log/transfer-log.ts';
import { describePayload, minimise } from '../minimise.ts';
import type { Policy } from '../policy/index.ts';
import { erasureDueAt, withSubscriptionEnd } from '../lifecycle/erasure-schedule.ts';
import { InvalidRecordError, parseMasterRecord, type MasterRecord } from '../record.ts';
import { reconcile, type Action } from '../reconcile.ts';
import { getRecords, type RecordSource } from '../source.ts';
import type { Database } from '../store/database.ts';
import { loadStates, noteSubscriptionEnd, saveLinks, type LinkUpdate, type StoredLink } from '../store/state.ts';
import type { JobResult, ReconcileJobData } from './job.ts';
import type { ConcurrencySlots } from './concurrency.ts';
import { type Semaphore, type RateLimiter } from './rate-limit.ts';

export interface WorkerContext {
  readonly db: Database;
  readonly policy: Policy;
  readonly keys: Keys;
  readonly adapters: ReadonlyMap<string, PartnerAdapter>;
  readonly source: RecordSource;
  readonly limiter: RateLimiter;
  /** Calls in flight in this process. */
  readonly concurrency: (partner: string) => Semaphore;
  /** Calls in flight across every worker process (PostgreSQL); absent on single-process PGlite. */
  readonly slots?: ConcurrencySlots;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly observer?: GatewayObserver | undefined;
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
export async function runReconcileJobs(
  ctx: WorkerContext,
  partner: string,
  items: readonly WorkItem[],
): Promise<JobResult[]> {
  const adapter = ctx.adapters.get(partner);
  if (!adapter)
    return items.map(() => ({ status: 'deadletter', error: `no adapter is configured for partner ${partner}` }));
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
      if (record && record.id !== item.data.subjectId)
        throw new InvalidRecordError(item.data.subjectId, [
          { path: 'id', message: 'does not match the subject id asked for' },
        ]);
    } catch (error) {
      if (!(error instanceof InvalidRecordError)) throw error;
      ctx.logger.warn(
        { subjectId: item.data.subjectId, partner, correlationId: item.data.correlationId, problems: error.problems },
        'invalid master record: nothing sent',
      );
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
      // Ids of an erased record are history, not something to update.
      partnerIds: union(link && !link.erased ? link.partnerIds : [], hostIds),
    };
    const end = record?.subscription?.end;
    if (end && state.subscriptionEndedAt?.getTime() !== end.getTime()) {
      endings.push(noteSubscriptionEnd(ctx.db, item.data.subjectId, end, erasureDueAt(end, timeZone)));
    }
    plans.push({
      index,
      plan: {
        item,
        action,
        ref,
        link,
        fields: described.fields,
        categories: described.categories,
        allowed: ctx.policy.allowedFields(partner),
      },
    });
  });

  await Promise.all(endings);

  // Remember ids the host told us (balena devices) so an erasure can reach them after the record is gone.
  const idsLearned = plans.filter(({ plan }) => plan.action.kind === 'none' && learnsIds(plan));
  await saveLinks(
    ctx.db,
    partner,
    idsLearned.map(({ plan }) => ({
      subjectId: plan.item.data.subjectId,
      update: {
        partnerIds: plan.ref.partnerIds,
        digest: plan.link?.digest ?? null,
        holds: plan.link?.holds ?? false,
        suppressed: plan.link?.suppressed ?? false,
      },
    })),
  );
  for (const { index, plan } of plans) {
    if (plan.action.kind === 'none' && plan.action.reason === 'erased')
      await ctx.onErased?.(plan.item.data.subjectId, partner);
    if (plan.action.kind === 'none') results[index] = { status: 'completed', action: `none:${plan.action.reason}` };
    else if (!pickCall(adapter, plan, ctx.keys))
      results[index] = { status: 'deadletter', error: `the ${partner} adapter cannot ${plan.action.kind}` };
  }

  const units = callUnits(
    adapter,
    ctx.keys,
    plans.filter(({ index }) => results[index] === undefined),
  );
  if (units.length > 0) await runUnits(ctx, partner, units, results);
  return results.map((r) => r ?? { status: 'failed', error: 'no result' });
}

/**
 * Makes the calls in a constant number of statements: intents for every call in one transaction
 * before any call (DESIGN §6; an attempt that died before its outcome is closed as unknown), the
 * rate-limit slots reserved at once, the calls, then every outcome and link in one transaction after
 * them (never a transaction held across a partner call).
 */
async function runUnits(
  ctx: WorkerContext,
  partner: string,
  units: readonly CallUnit[],
  results: (JobResult | undefined)[],
): Promise<void> {
  const members = units.flatMap((u) => u.members);
  const seqs = await ctx.db.transaction(async (tx) => {
    await closeOpenIntents(
      tx,
      members.map((m) => m.plan.item.data.subjectId),
      partner,
    );
    return writeIntents(
      tx,
      members.map((m) => intentRow(ctx, m.plan, partner, m.operation)),
    );
  });
  members.forEach((m, i) => (m.intentSeq = seqs[i]!));

  // A partner with a rate: each call takes its slot just before it goes, so a Retry-After pause set by
  // one call holds the next ones back. Without a rate, one reservation for the batch honours a pause.
  const paced = ctx.limiter.hasRate(partner);
  const reservedAt = performance.now();
  const waits = paced ? [] : await ctx.limiter.reserve(partner, units.length);
  const semaphore = ctx.concurrency(partner);
  const tasks = units.map(
    (unit, i) => () =>
      semaphore.run(async () => {
        if (paced) await ctx.limiter.acquire(partner);
        else await ctx.limiter.sleep(waits[i]! - (performance.now() - reservedAt));
        const started = performance.now();
        const settled = await unit.call().catch((error: unknown) =>
          unit.members.map(() => ({
            ok: false as const,
            error: asPartnerError(error, partner, unit.members[0]!.operation),
          })),
        );
        const retryAfter = settled.find((r) => !r.ok && r.error.retryAfterMs !== undefined);
        if (retryAfter && !retryAfter.ok) {
          await ctx.limiter.pause(partner, retryAfter.error.retryAfterMs!);
          ctx.observer?.paused?.(partner, retryAfter.error.retryAfterMs!);
        }
        const durationMs = performance.now() - started;
        const failure = settled.flatMap((r) => (r.ok ? [] : [r.error]))[0];
        ctx.observer?.callSettled?.({
          partner,
          operation: unit.members[0]!.operation,
          outcome: failure ? (failure.kind === 'unknown' ? 'unknown' : 'failed') : 'ok',
          subjects: unit.members.length,
          durationMs,
          httpStatus: failure?.status,
          errorCode: failure?.code,
        });
        return settled.map((result, j) => ({ member: unit.members[j]!, result, durationMs }));
      }),
  );
  // Across processes (PostgreSQL), the batch's calls run through the shared slots it leases at once.
  const outcomes = (
    ctx.slots ? await ctx.slots.runAll(partner, tasks) : await Promise.all(tasks.map((task) => task()))
  ).flat();

  await ctx.db.transaction(async (tx) => {
    await writeOutcomes(
      tx,
      outcomes.map(({ member, result, durationMs }) =>
        result.ok
          ? { intentSeq: member.intentSeq, outcome: 'ok' as const, partnerId: result.partnerIds[0], durationMs }
          : {
              intentSeq: member.intentSeq,
              outcome: 'failed' as const,
              httpStatus: result.error.status,
              errorCode: result.error.code ?? result.error.kind,
              durationMs,
            },
      ),
    );
    await saveLinks(
      tx,
      partner,
      outcomes.flatMap(({ member, result }) =>
        result.ok
          ? [{ subjectId: member.plan.item.data.subjectId, update: linkAfter(member.plan, result.partnerIds) }]
          : [],
      ),
    );
  });

  for (const { member, result } of outcomes) {
    const { plan } = member;
    const base = {
      subjectId: plan.item.data.subjectId,
      partner,
      operation: member.operation,
      correlationId: plan.item.data.correlationId,
    };
    if (result.ok) {
      ctx.logger.info({ ...base, fields: plan.action.kind === 'upsert' ? plan.fields : [] }, 'transfer ok');
      if (plan.action.kind === 'erase') await ctx.onErased?.(plan.item.data.subjectId, partner);
      results[member.index] = { status: 'completed', action: member.operation };
    } else {
      const e = result.error;
      ctx.logger.warn({ ...base, status: e.status, code: e.code, kind: e.kind }, 'transfer failed');
      results[member.index] = e.retryable
        ? { status: 'failed', error: e.message }
        : { status: 'deadletter', error: e.message };
    }
  }
}

type CallResult =
  { readonly ok: true; readonly partnerIds: readonly string[] } | { readonly ok: false; readonly error: PartnerError };

interface UnitMember {
  readonly index: number;
  readonly plan: Plan;
  readonly operation: string;
  intentSeq: string;
}

/** One partner call: a single action, or one batch call carrying several upserts. */
interface CallUnit {
  readonly members: UnitMember[];
  call(): Promise<CallResult[]>;
}

function callUnits(
  adapter: PartnerAdapter,
  keys: WorkerContext['keys'],
  plans: readonly { index: number; plan: Plan }[],
): CallUnit[] {
  const upserts = plans.filter((p) => p.plan.action.kind === 'upsert');
  const batched = new Set(adapter.upsertBatch && upserts.length > 1 ? upserts.map((u) => u.index) : []);
  const units: CallUnit[] = [];
  const size = Math.max(1, adapter.maxBatchSize ?? 500);
  const inBatch = upserts.filter((u) => batched.has(u.index));
  for (let i = 0; i < inBatch.length; i += size) {
    const members = inBatch
      .slice(i, i + size)
      .map(({ index, plan }) => ({ index, plan, operation: 'upsert_batch', intentSeq: '' }));
    units.push({
      members,
      call: () =>
        batchCall(
          adapter,
          keys,
          members.map((m) => m.plan),
        ),
    });
  }
  for (const { index, plan } of plans) {
    if (batched.has(index)) continue;
    const call = pickCall(adapter, plan, keys)!;
    units.push({
      members: [{ index, plan, operation: plan.action.kind, intentSeq: '' }],
      call: async () => [{ ok: true, partnerIds: (await call()).partnerIds }],
    });
  }
  return units;
}

async function batchCall(
  adapter: PartnerAdapter,
  keys: WorkerContext['keys'],
  plans: readonly Plan[],
): Promise<CallResult[]> {
  const results = await adapter.upsertBatch!(
    plans.map((p) => upsertInput(p, p.action as Extract<Action, { kind: 'upsert' }>)),
    {
      correlationId: plans[0]!.item.data.correlationId,
      idempotencyKey: `pgw-${adapter.partner}-batch-${keys.payloadDigest(plans.map((p) => idempotencyKey(p, adapter.partner, keys))).slice(0, 40)}`,
    },
  );
  return plans.map((p, i) => {
    const r = results[i];
    if (r?.ok) return { ok: true, partnerIds: union([r.partnerId], p.ref.partnerIds) };
    return {
      ok: false,
      error:
        r?.error ??
        new PartnerError({
          partner: adapter.partner,
          operation: 'upsert_batch',
          kind: 'retryable',
          code: 'missing_result',
        }),
    };
  });
}

function learnsIds(plan: Plan): boolean {
  const { link, ref } = plan;
  return link === null ? ref.partnerIds.length > 0 : !link.erased && ref.partnerIds.length !== link.partnerIds.length;
}

/** Anything not a PartnerError is a bug or an unwrapped network error: retry it, never echo its message. */
function asPartnerError(error: unknown, partner: string, operation: string): PartnerError {
  if (error instanceof PartnerError) return error;
  return new PartnerError({
    partner,
    operation,
    kind: 'retryable',
    code: (error as { code?: string })?.code ?? 'unexpected_error',
    detail: (error as Error)?.name,
  });
}

/** The adapter call for a plan, returning the partner ids the subject has there afterwards. */
function pickCall(
  adapter: PartnerAdapter,
  plan: Plan,
  keys: WorkerContext['keys'],
): (() => Promise<{ partnerIds: string[] }>) | undefined {
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
        // Kept as the record of what was erased: ids the host still names are not erased again.
        return { partnerIds: [...ref.partnerIds] };
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
      return { partnerIds, digest: null, holds: false, suppressed: false, erased: true, consentEntryApplied: null };
  }
}

function intentRow(ctx: WorkerContext, plan: Plan, partner: string, operation: string): IntentRow {
  const payloadDigest = plan.action.kind === 'upsert' ? plan.action.digest : undefined;
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
  if (action.kind === 'suppress' || (action.kind === 'erase' && action.reason === 'consent-withdrawn'))
    return 'consent';
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
  const target =
    action.kind === 'upsert' ? { digest: action.digest, subscription: action.subscription ?? null } : action.kind;
  const transition = keys.payloadDigest({
    partner,
    subject: plan.ref.pseudonym,
    from: link?.digest ?? null,
    suppressed: link?.suppressed ?? false,
    target,
  });
  return `pgw-${partner}-${action.kind}-${transition.slice(0, 40)}`;
}

function hostIdsOf(record: MasterRecord, partner: string): string[] {
  const ids = record.partnerIds[partner];
  return ids === undefined ? [] : Array.isArray(ids) ? ids : [ids];
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}
