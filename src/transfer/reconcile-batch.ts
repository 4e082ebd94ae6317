import { PartnerError, type PartnerAdapter, type UpsertInput } from '../adapter.ts';
import type { Keys } from '../keys.ts';
import { writeEvent, type Trigger } from '../log/transfer-log.ts';
import type { BatchPlan } from '../plan/batch.ts';
import { hostIdsOf, union, type ReadyPlan } from '../plan/plan.ts';
import type { Policy } from '../policy/index.ts';
import type { Action } from '../reconcile.ts';
import type { JobResult } from '../schedule/job.ts';
import type { Sql } from '../store/database.ts';
import { noteSubscription, rememberPartnerIds, saveLinks, sharedPartnerIds, type LinkUpdate } from '../store/state.ts';
import { idempotencyKey } from './idempotency.ts';
import type { RecordedId } from './log-ids.ts';
import type { MemberResult, Transfer, TransferMember, TransferUnit } from './transfer.ts';

/** Who, why and which attempt: what a reconcile job carries besides its subject. */
export interface JobContext {
  readonly trigger: Trigger;
  readonly correlationId: string;
  readonly operator?: string | undefined;
  /** 1 on the first try. */
  readonly attempt: number;
}

export interface ReconcileBatchDeps {
  readonly db: Sql;
  readonly keys: Keys;
  readonly transfer: Transfer;
  readonly recordedId: RecordedId;
  /** Ids the record names for a partner outside the policy are not kept; links note the digest sent under, events carry the rest. */
  readonly policy: Pick<Policy, 'partnerNames' | 'partner' | 'legalBasis' | 'digest'>;
  /** A partner confirmed an erasure (or had nothing left to erase): the lifecycle checks completeness. */
  readonly onErased: (subjectId: string, partner: string) => Promise<void>;
  /**
   * Subjects erased at the partner only to be made again without a field it cannot clear: their next
   * job (the same trigger and correlation) creates them as the policy now says.
   */
  readonly recreate?: (
    partner: string,
    jobs: readonly (JobContext & { readonly subjectId: string })[],
  ) => Promise<void>;
}

/**
 * Carries out one batch of plans for one partner: records what the plans learned (subscription ends,
 * ids the host named), then makes the calls through transfer, upserts grouped into batch calls where
 * the adapter has them. Returns one result per plan, in order.
 */
export async function runReconcileBatch(
  deps: ReconcileBatchDeps,
  adapter: PartnerAdapter,
  batch: readonly { readonly plan: BatchPlan; readonly job: JobContext }[],
  signal?: AbortSignal,
): Promise<JobResult[]> {
  const partner = adapter.partner;
  const results: (JobResult | undefined)[] = batch.map(({ plan }) =>
    plan.kind === 'invalid'
      ? { status: 'deadletter', error: plan.reason }
      : plan.kind === 'source-failed'
        ? { status: 'failed', error: plan.reason }
        : undefined,
  );
  const ready = batch.flatMap(({ plan, job }, index) => (plan.kind === 'ready' ? [{ index, plan, job }] : []));

  await Promise.all(
    ready.flatMap(({ plan }) =>
      plan.subscriptionChange
        ? [noteSubscription(deps.db, plan.subjectId, plan.subscriptionChange.endedAt, plan.subscriptionChange.dueAt)]
        : [],
    ),
  );
  // Remember ids the host told us for other partners (balena devices), whose own jobs may come after
  // the record dropped them; ours are saved below, with what the link knows.
  await rememberPartnerIds(
    deps.db,
    ready.flatMap(({ plan }) =>
      plan.record
        ? Object.keys(plan.record.partnerIds)
            .filter((p) => p !== partner && deps.policy.partnerNames.includes(p))
            .map((p) => ({ subjectId: plan.subjectId, partner: p, ids: hostIdsOf(plan.record!, p) }))
        : [],
    ),
  );
  // Remember ids the host told us (balena devices) so an erasure can reach them after the record is gone.
  await saveLinks(
    deps.db,
    partner,
    ready
      .filter(({ plan }) => plan.action.kind === 'none' && learnsIds(plan))
      .map(({ plan }) => ({
        subjectId: plan.subjectId,
        update: {
          partnerIds: plan.ref.partnerIds,
          digest: plan.link?.digest ?? null,
          holds: plan.link?.holds ?? false,
          suppressed: plan.link?.suppressed ?? false,
        },
      })),
  );

  const toCall: typeof ready = [];
  for (const entry of ready) {
    const { plan, index } = entry;
    const noted = notedOperation(plan.action);
    if (noted) {
      await noteRestriction(deps, partner, plan, entry.job, noted);
      results[index] = { status: 'completed', action: noted };
    } else if (plan.action.kind === 'none') {
      if (plan.action.reason === 'erased') await deps.onErased(plan.subjectId, partner);
      results[index] = { status: 'completed', action: `none:${plan.action.reason}` };
    } else if (!canCall(adapter, plan.action)) {
      results[index] = { status: 'deadletter', error: `the ${partner} adapter cannot ${plan.action.kind}` };
    } else toCall.push(entry);
  }

  // An id another live subject claims too (one email, one Mailchimp member) is never erased for this one.
  const shared = await sharedPartnerIds(
    deps.db,
    partner,
    toCall.filter((e) => e.plan.action.kind === 'erase').map((e) => e.plan.subjectId),
  );
  const entries = toCall.map((e) => ({ ...e, withheld: [...(shared.get(e.plan.subjectId) ?? [])] }));
  const members = new Map<TransferMember, { index: number; plan: ReadyPlan }>();
  const units = callUnits(adapter, deps.keys, deps.recordedId, entries, members, deps.policy.digest);
  const settled = (await deps.transfer.run(partner, units, { signal })).flat();
  const recreate: (JobContext & { subjectId: string })[] = [];
  for (const entry of settled) {
    const { index, plan } = members.get(entry.member)!;
    if (entry.outcome === 'skipped') {
      results[index] = { status: 'completed', action: 'none:erased' };
      continue;
    }
    const { result } = entry;
    if (result.ok) {
      if (plan.action.kind === 'erase') await deps.onErased(plan.subjectId, partner);
      if (plan.action.kind === 'erase' && plan.action.reason === 'uncleared-field')
        recreate.push({ ...batch[index]!.job, subjectId: plan.subjectId });
      results[index] = { status: 'completed', action: entry.member.intent.operation };
    } else {
      results[index] = result.error.retryable
        ? { status: 'failed', error: result.error.message }
        : { status: 'deadletter', error: result.error.message };
    }
  }
  if (recreate.length > 0) await deps.recreate?.(partner, recreate);
  return results.map((r) => r ?? { status: 'failed', error: 'no result' });
}

function canCall(adapter: PartnerAdapter, action: Action): boolean {
  if (action.kind === 'upsert') return Boolean(adapter.upsert || adapter.upsertBatch);
  if (action.kind === 'suppress') return Boolean(adapter.suppress);
  if (action.kind === 'restrict')
    return action.mode === 'suppress' ? Boolean(adapter.suppress) : Boolean(adapter.restrict);
  if (action.kind === 'unrestrict') return Boolean(adapter.unrestrict);
  return action.kind === 'erase';
}

/**
 * Restriction steps that call nobody, logged as events naming the partner: a partner without a
 * restriction mechanism (keep) is told nothing it could act on, and a suppressed member without a
 * current consent grant stays unsubscribed when the restriction ends.
 */
export const NOTED_RESTRICTION_OPERATIONS = {
  restrict_no_mechanism: 'restrict: the partner has no restriction mechanism (it keeps what it holds)',
  unrestrict_no_mechanism: 'unrestrict: the partner has no restriction mechanism',
  unrestrict_without_consent: 'unrestrict: kept unsubscribed, no current consent grant',
} as const;

type NotedOperation = keyof typeof NOTED_RESTRICTION_OPERATIONS;

function notedOperation(action: Action): NotedOperation | undefined {
  if (action.kind === 'restrict' && action.mode === 'keep') return 'restrict_no_mechanism';
  if (action.kind === 'unrestrict' && action.mode === 'keep') return 'unrestrict_no_mechanism';
  if (action.kind === 'unrestrict' && action.mode === 'suppress') return 'unrestrict_without_consent';
  return undefined;
}

async function noteRestriction(
  deps: ReconcileBatchDeps,
  partner: string,
  plan: ReadyPlan,
  job: JobContext,
  operation: NotedOperation,
): Promise<void> {
  const { link } = plan;
  await writeEvent(
    deps.db,
    {
      subjectId: plan.subjectId,
      partner,
      operation,
      trigger: 'restriction',
      operator: job.operator,
      correlationId: job.correlationId,
      purpose: deps.policy.partner(partner).purpose,
      legalBasis: deps.policy.legalBasis(partner),
      policyDigest: deps.policy.digest,
    },
    deps.keys.audit,
  );
  await saveLinks(deps.db, partner, [
    {
      subjectId: plan.subjectId,
      update: {
        partnerIds: plan.ref.partnerIds,
        digest: link?.digest ?? null,
        holds: link?.holds ?? false,
        suppressed: link?.suppressed ?? false,
        restrictionApplied: operation === 'restrict_no_mechanism' ? 'keep' : null,
      },
    },
  ]);
}

function learnsIds(plan: ReadyPlan): boolean {
  const { link, ref } = plan;
  return link === null ? ref.partnerIds.length > 0 : !link.erased && ref.partnerIds.length !== link.partnerIds.length;
}

type Entry = {
  readonly index: number;
  readonly plan: ReadyPlan;
  readonly job: JobContext;
  /** Ids of the subject's that another live subject claims: left out of an erase. */
  readonly withheld: readonly string[];
};

function callUnits(
  adapter: PartnerAdapter,
  keys: Keys,
  recordedId: RecordedId,
  entries: readonly Entry[],
  members: Map<TransferMember, { index: number; plan: ReadyPlan }>,
  policyDigest: string,
): TransferUnit[] {
  const member = (entry: Entry, operation: string): TransferMember => {
    // An erase of an uncertain link searches the partner (find) first: that resolves the unknown outcome.
    const searched = searches(adapter, entry.plan) ? { lagMs: adapter.findLagMs ?? 0 } : undefined;
    const m = toMember(entry, operation, (id) => recordedId(adapter.partner, id)!, searched, policyDigest);
    members.set(m, entry);
    return m;
  };
  const upserts = entries.filter((e) => e.plan.action.kind === 'upsert');
  const batched = adapter.upsertBatch && (upserts.length > 1 || !adapter.upsert) ? upserts : [];
  const units: TransferUnit[] = [];
  const size = Math.max(1, adapter.maxBatchSize ?? 500);
  for (let i = 0; i < batched.length; i += size) {
    const chunk = batched.slice(i, i + size).map((e) => member(e, 'upsert_batch'));
    const transitions = chunk.map((m) => transitionOf(members.get(m)!.plan));
    units.push({
      operation: 'upsert_batch',
      correlationId: chunk[0]!.intent.correlationId,
      idempotencyKey: idempotencyKey(keys, adapter.partner, 'upsert_batch', transitions),
      members: chunk,
      call: async (ctx, live) => {
        const plans = live.map((m) => members.get(m)!.plan);
        const answers = await adapter.upsertBatch!(plans.map(upsertInput), ctx);
        return plans.map((p, i): MemberResult => {
          const r = answers[i];
          if (r?.ok) return { ok: true, partnerIds: union([r.partnerId], p.ref.partnerIds), currentId: r.partnerId };
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
      },
    });
  }
  const inBatch = new Set(batched);
  for (const entry of entries) {
    if (inBatch.has(entry)) continue;
    const { plan } = entry;
    const operation = plan.action.kind;
    units.push({
      operation,
      correlationId: entry.job.correlationId,
      idempotencyKey: idempotencyKey(keys, adapter.partner, operation, transitionOf(plan)),
      members: [member(entry, operation)],
      call: async (ctx) => [{ ok: true, ...(await singleCall(adapter, plan, entry.withheld, ctx)) }],
    });
  }
  return units;
}

/**
 * Only a link whose last sending call ended unknown (or died with its intent open) can have left a
 * record under an id we never learned; every other erase knows each id, so it spends no search.
 */
function searches(adapter: PartnerAdapter, plan: ReadyPlan): boolean {
  return adapter.find !== undefined && plan.action.kind === 'erase' && (plan.link?.uncertain ?? false);
}

/** The adapter call for one plan, returning the partner ids the subject has there afterwards. */
async function singleCall(
  adapter: PartnerAdapter,
  plan: ReadyPlan,
  withheld: readonly string[],
  ctx: Parameters<PartnerAdapter['erase']>[2],
): Promise<{ partnerIds: string[]; currentId?: string }> {
  const { action, ref } = plan;
  switch (action.kind) {
    case 'upsert': {
      const { partnerId } = await adapter.upsert!(upsertInput(plan), ctx);
      return { partnerIds: union([partnerId], ref.partnerIds), currentId: partnerId };
    }
    case 'suppress': {
      const { partnerId } = await adapter.suppress!(ref, ctx);
      return { partnerIds: union([partnerId], ref.partnerIds), currentId: partnerId };
    }
    case 'restrict': {
      // suppress: the member is unsubscribed as for a withdrawal (no newsletter while restricted), but
      // the link remembers why, so unrestrict restores the consented status and no resync mistakes it
      // for the member's own unsubscribe.
      if (action.mode === 'suppress') {
        const { partnerId } = await adapter.suppress!(ref, ctx);
        return partnerId
          ? { partnerIds: union([partnerId], ref.partnerIds), currentId: partnerId }
          : { partnerIds: [...ref.partnerIds] };
      }
      return { partnerIds: union(ref.partnerIds, (await adapter.restrict!(ref, ctx)).partnerIds) };
    }
    case 'unrestrict':
      return { partnerIds: union(ref.partnerIds, (await adapter.unrestrict!(ref, ctx)).partnerIds) };
    case 'erase': {
      // What a lost answer may have left under an id we never learned is erased too (see find).
      const found = searches(adapter, plan) ? await adapter.find!(ref, ctx) : [];
      const partnerIds = union(ref.partnerIds, found).filter((id) => !withheld.includes(id));
      await adapter.erase({ ...ref, partnerIds }, action.mode, ctx);
      // Kept as the record of what was erased: ids the host still names are not erased again.
      return { partnerIds };
    }
    default:
      throw new Error(`no call for ${action.kind}`);
  }
}

function toMember(
  entry: Entry,
  operation: string,
  recordedId: (id: string) => string,
  searched: { readonly lagMs: number } | undefined,
  policyDigest: string,
): TransferMember {
  const { plan, job } = entry;
  const sends = plan.action.kind === 'upsert';
  const restriction = plan.action.kind === 'restrict' || plan.action.kind === 'unrestrict';
  return {
    subjectId: plan.subjectId,
    // A restriction step sends no data and must reach the partner: it is never dropped for a tombstone.
    sendsData: (sends || plan.action.kind === 'suppress') && !restriction,
    intent: {
      operation,
      trigger: triggerFor(plan.action, job.trigger, Boolean(plan.link?.restrictionApplied)),
      operator: job.operator,
      correlationId: job.correlationId,
      fields: sends ? plan.fields : [],
      categories: sends ? plan.categories : [],
      payloadDigest: plan.action.kind === 'upsert' ? plan.action.digest : undefined,
      partnerId: plan.ref.partnerIds[0],
      attempt: job.attempt,
    },
    linkAfter: (partnerIds, currentId) =>
      linkAfter(plan, partnerIds, recordedId, searched, entry.withheld, currentId, policyDigest),
  };
}

/** What the partner acknowledged last -> what this plan sends now (see idempotencyKey). */
function transitionOf(plan: ReadyPlan): unknown {
  const { action, link } = plan;
  const target =
    action.kind === 'upsert' ? { digest: action.digest, subscription: action.subscription ?? null } : action.kind;
  return {
    subject: plan.ref.pseudonym,
    from: link?.digest ?? null,
    suppressed: link?.suppressed ?? false,
    target,
  };
}

function upsertInput(plan: ReadyPlan): UpsertInput {
  const action = plan.action as Extract<Action, { kind: 'upsert' }>;
  // Everything the partner was last sent that this payload lacks: fields the record lost, and fields
  // the policy no longer sends it (a narrowed partner holds none of them afterwards).
  const cleared = (plan.link?.lastFields ?? []).filter((f) => !plan.fields.includes(f));
  return {
    payload: action.payload,
    ref: plan.ref,
    ...(action.subscription ? { subscription: action.subscription } : {}),
    ...(cleared.length > 0 ? { cleared } : {}),
  };
}

function linkAfter(
  plan: ReadyPlan,
  partnerIds: readonly string[],
  recordedId: (id: string) => string,
  searched: { readonly lagMs: number } | undefined,
  withheld: readonly string[],
  currentId: string | undefined,
  policyDigest: string,
): LinkUpdate {
  const { action, link } = plan;
  switch (action.kind) {
    case 'upsert':
      return {
        partnerIds,
        digest: action.digest,
        holds: true,
        // An update that carries no subscription leaves an unsubscribed member unsubscribed.
        suppressed: action.subscription ? false : (link?.suppressed ?? false),
        sentFields: plan.fields,
        policyDigest,
        ...(currentId ? { currentId } : {}),
        ...(action.consentEntryId ? { consentEntryApplied: action.consentEntryId } : {}),
        // Only an unrestricted subject is sent data: the upsert that re-subscribes a member suppressed
        // for a restriction is what lifts it there.
        ...(link?.restrictionApplied ? { restrictionApplied: null } : {}),
      };
    case 'suppress':
      return {
        partnerIds,
        digest: link?.digest ?? null,
        holds: true,
        suppressed: true,
        ...(currentId ? { currentId } : {}),
      };
    case 'restrict':
    case 'unrestrict':
      return {
        partnerIds,
        digest: link?.digest ?? null,
        holds: link?.holds ?? partnerIds.length > 0,
        suppressed: action.kind === 'restrict' && action.mode === 'suppress' ? true : (link?.suppressed ?? false),
        restrictionApplied: action.kind === 'restrict' ? action.mode : null,
        ...(currentId ? { currentId } : {}),
      };
    default:
      // What was erased, kept as the record: where an id is itself personal, by its keyed reference.
      return {
        partnerIds: partnerIds.map(recordedId),
        digest: null,
        holds: false,
        suppressed: false,
        erased: true,
        consentEntryApplied: null,
        ...(searched ? { uncertainResolvedBefore: new Date(Date.now() - searched.lagMs) } : {}),
        ...(withheld.length > 0 ? { conflict: true } : {}),
      };
  }
}

function triggerFor(action: Action, jobTrigger: Trigger, restoring: boolean): Trigger {
  if (action.kind === 'erase' && action.reason === 'erasure') return 'erasure';
  if (
    action.kind === 'suppress' ||
    (action.kind === 'erase' && (action.reason === 'consent-withdrawn' || action.reason === 'no-consent'))
  )
    return 'consent';
  if (action.kind === 'restrict' || action.kind === 'unrestrict') return 'restriction';
  if (action.kind === 'upsert' && action.subscription) return restoring ? 'restriction' : 'consent';
  return jobTrigger;
}
