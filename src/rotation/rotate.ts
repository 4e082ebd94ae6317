import { randomUUID } from 'node:crypto';
import type { PartnerAdapter } from '../adapter.ts';
import { noteDriftRepairs } from '../drift-repair.ts';
import type { RetiredPseudonymKey } from '../keys.ts';
import { writeEvent } from '../log/transfer-log.ts';
import { planBatch } from '../plan/batch.ts';
import type { ReadyPlan } from '../plan/plan.ts';
import { beginRotation, completeRotation } from '../store/key-fingerprints.ts';
import {
  countPendingRotationPairs,
  partnersHolding,
  forgetOldPseudonym,
  markRotated,
  pendingRotationPairs,
  settleUncertain,
  type RotationPair,
} from '../store/rotation-progress.ts';
import { runReconcileBatch } from '../transfer/reconcile-batch.ts';
import type { RotationDeps } from './deps.ts';
import { eraseUnderOld, findUnderOld, type OldCallResult } from './old-pseudonym.ts';

export type { RotationDeps } from './deps.ts';

/**
 * A pseudonym key rotation: moves every partner that knows the subjects by their pseudonym onto the
 * pseudonyms of the new key (the gateway's key; the old one is among the retired keys), through the
 * one transfer path, and only when nothing is left under the old key puts the store on the new one.
 * Per partner, by its adapter's `pseudonymUse`:
 * - 'key' (E-logistik): the subject is written under the new pseudonym first (a forced upsert), and
 *   only once the partner confirmed it erased under the old: the partner never holds nothing for a
 *   live subject, and a crash between the two leaves both, which the next run finishes.
 * - 'attribute' (Stripe, Intercom): a forced update, which rewrites the pseudonym kept on the record.
 * - absent (Mailchimp, Auth0, Twilio, Resin): nothing is keyed by it; nothing to do.
 * Each (subject, partner) done is recorded, so a run after a crash goes on where the last one stopped;
 * the calls are idempotent (a PUT to one key, a DELETE that finds nothing is done, an update), so a
 * pair redone after a crash duplicates nothing.
 */
export interface RotationOptions {
  /** Count what each partner would get; call nobody, change nothing. */
  readonly dryRun?: boolean;
  readonly operator?: string;
  /** Subjects per batch of calls (default 100). */
  readonly batchSize?: number;
}

/** A pair left, and why, in words without a personal value. */
export interface RotationLeft {
  readonly subjectId: string;
  readonly reason: string;
}

export interface RotationPartnerReport {
  readonly partner: string;
  /** moved: created under the new pseudonym, erased under the old; rewritten: the pseudonym on the record updated. */
  readonly change: 'moved' | 'rewritten' | 'unchanged';
  /** Pairs still to do when the run began (a dry run: what it would do). */
  readonly pending: number;
  /** Of them, held there (a dry run: the calls it would make: two each when moved, one when rewritten). */
  readonly held: number;
  /** Done in this run. */
  readonly done: number;
  /** Left for a later run: a call failed and will be retried, the source did not answer, a search lags. */
  readonly retry: readonly RotationLeft[];
  /** Left for an operator: an invalid record, a subject not sendable now, a record found under an unknown id. */
  readonly operator: readonly RotationLeft[];
}

export interface RotationReport {
  readonly dryRun: boolean;
  /**
   * complete: the store is on the new key now; in-progress: something is left (see partners), rerun;
   * already-current: the store was on this key (nothing to do); dry-run: nothing was done.
   */
  readonly state: 'complete' | 'in-progress' | 'already-current' | 'dry-run';
  /** The keys' fingerprints, shortened (never a key). */
  readonly from: string;
  readonly to: string;
  readonly partners: readonly RotationPartnerReport[];
  /**
   * Partners that hold subjects (the links say so) but have no adapter in this gateway: whether they
   * know the pseudonym cannot be told, so the rotation does not complete until they are wired.
   */
  readonly withoutAdapter: readonly string[];
}

const short = (fingerprint: string) => fingerprint.slice(0, 12);

export async function rotatePseudonymKey(deps: RotationDeps, options: RotationOptions = {}): Promise<RotationReport> {
  const state = deps.keyState.current;
  const to = deps.keys.fingerprints.pseudonym;
  if (to === undefined) throw new Error('a rotation needs the new key in PARTNER_GATEWAY_PSEUDONYM_KEY');
  const adapters = [...deps.adapters.values()];
  const keyed = adapters.filter((a) => a.pseudonymUse !== undefined);
  const unchanged = adapters
    .filter((a) => a.pseudonymUse === undefined)
    .map((a): RotationPartnerReport => ({ ...empty(a.partner), change: 'unchanged' }));
  const withoutAdapter = (await partnersHolding(deps.db)).filter((p) => !deps.adapters.has(p));
  const base = { dryRun: options.dryRun === true, from: short(state.pseudonym), to: short(to), withoutAdapter };
  if (state.pseudonym === to && state.next === null)
    return { ...base, state: 'already-current', partners: [...keyed.map((a) => report(a)), ...unchanged] };
  const old = deps.keys.retired.find((r) => r.fingerprint === state.pseudonym);
  // Checked when the store was opened (checkKeyFingerprints); here for the type and a changed store.
  if (!old) throw new Error('rotation: the key the store was made with is not among the previous pseudonym keys');

  if (options.dryRun) {
    const counts = await countPendingRotationPairs(
      deps.db,
      keyed.map((a) => a.partner),
    );
    return {
      ...base,
      state: 'dry-run',
      partners: [
        ...keyed.map((a) => {
          const c = counts.get(a.partner);
          return { ...report(a), pending: c?.total ?? 0, held: c?.held ?? 0 };
        }),
        ...unchanged,
      ],
    };
  }

  const correlationId = randomUUID();
  const operator = options.operator;
  const event = (operation: string) =>
    writeEvent(
      deps.db,
      {
        operation,
        trigger: 'ops',
        ...(operator ? { operator } : {}),
        correlationId,
        policyDigest: deps.policy.digest,
      },
      deps.keys.audit,
    );
  if (state.next === null) {
    await beginRotation(deps.db, to);
    deps.keyState.current = { pseudonym: state.pseudonym, next: to };
    await event('pseudonym_rotation_started');
  } else await event('pseudonym_rotation_resumed');

  const reports: RotationPartnerReport[] = [];
  for (const adapter of keyed)
    reports.push(await rotatePartner(deps, adapter, old, { correlationId, operator, size: options.batchSize ?? 100 }));
  const left = withoutAdapter.length > 0 || reports.some((r) => r.retry.length > 0 || r.operator.length > 0);
  if (!left) {
    await deps.db.transaction((tx) => completeRotation(tx, to));
    deps.keyState.current = { pseudonym: to, next: null };
    await event('pseudonym_rotation_completed');
  }
  return { ...base, state: left ? 'in-progress' : 'complete', partners: [...reports, ...unchanged] };
}

function empty(partner: string) {
  return { partner, pending: 0, held: 0, done: 0, retry: [], operator: [] };
}

function report(adapter: PartnerAdapter): RotationPartnerReport {
  return { ...empty(adapter.partner), change: adapter.pseudonymUse === 'key' ? 'moved' : 'rewritten' };
}

interface RunContext {
  readonly correlationId: string;
  readonly operator: string | undefined;
  readonly size: number;
}

async function rotatePartner(
  deps: RotationDeps,
  adapter: PartnerAdapter,
  old: RetiredPseudonymKey,
  run: RunContext,
): Promise<RotationPartnerReport> {
  const out = { ...report(adapter), retry: [] as RotationLeft[], operator: [] as RotationLeft[] };
  let after = '';
  for (;;) {
    const pairs = await pendingRotationPairs(deps.db, adapter.partner, after, run.size);
    if (pairs.length === 0) break;
    after = pairs.at(-1)!.subjectId;
    out.pending += pairs.length;
    out.held += pairs.filter((p) => p.holds).length;
    const done = await rotateBatch(deps, adapter, old, run, pairs, out);
    out.done += done.length;
  }
  return out;
}

/** One batch of pairs at one partner; returns the subjects done, and notes what is left in `out`. */
async function rotateBatch(
  deps: RotationDeps,
  adapter: PartnerAdapter,
  old: RetiredPseudonymKey,
  run: RunContext,
  pairs: readonly RotationPair[],
  out: { retry: RotationLeft[]; operator: RotationLeft[] },
): Promise<string[]> {
  const partner = adapter.partner;
  const moves = adapter.pseudonymUse === 'key';
  const done: string[] = [];
  const eraseOld: string[] = [];
  let going = [...pairs];

  // A call whose outcome is unknown may have left a record under the old pseudonym that only a
  // search by it finds (Stripe, Intercom); a partner keyed by the pseudonym is reached by the erase.
  if (!moves) {
    const uncertain = going.filter((p) => p.uncertainForMs !== null);
    const lagMs = adapter.findLagMs ?? 0;
    const searchable = uncertain.filter((p) => p.uncertainForMs! >= lagMs);
    for (const p of uncertain.filter((u) => !searchable.includes(u)))
      out.retry.push({
        subjectId: p.subjectId,
        reason: `an unknown outcome newer than ${partner}'s search lag (${Math.ceil(lagMs / 1000)} s): rerun after it`,
      });
    const resolvedBefore = new Date(Date.now() - lagMs);
    const found = adapter.find
      ? await findUnderOld(deps, adapter, old, run, searchable)
      : new Map<string, OldCallResult>();
    const settled: string[] = [];
    for (const p of searchable) {
      const result = found.get(p.subjectId);
      if (!adapter.find)
        out.operator.push({ subjectId: p.subjectId, reason: `an unknown outcome, and ${partner} cannot be searched` });
      else if (!result || 'error' in result)
        out.retry.push({ subjectId: p.subjectId, reason: result?.error ?? 'search failed' });
      else if (result.ids.some((id) => !p.partnerIds.includes(id)))
        out.operator.push({
          subjectId: p.subjectId,
          reason: `${partner} holds a record under the old pseudonym that the gateway has no id for (a lost answer): erase or merge it there, then rerun`,
        });
      else settled.push(p.subjectId);
    }
    await settleUncertain(deps.db, partner, settled, resolvedBefore);
    going = going.filter((p) => p.uncertainForMs === null || settled.includes(p.subjectId));
  }

  for (const p of going.filter((g) => !g.holds))
    (moves && p.uncertainForMs !== null ? eraseOld : done).push(p.subjectId);

  const held = going.filter((p) => p.holds);
  if (held.length > 0) {
    const plans = await planBatch(
      deps,
      partner,
      held.map((p) => ({ subjectId: p.subjectId, force: true })),
    );
    const sendable: ReadyPlan[] = [];
    for (const plan of plans) {
      if (plan.kind === 'source-failed') out.retry.push({ subjectId: plan.subjectId, reason: plan.reason });
      else if (plan.kind === 'invalid') out.operator.push({ subjectId: plan.subjectId, reason: plan.reason });
      else if (plan.action.kind === 'upsert') sendable.push(plan);
      // Being erased: the old record goes now, the erasure reaches whatever is under the new one.
      else if (plan.action.kind === 'erase') (moves ? eraseOld : done).push(plan.subjectId);
      else
        out.operator.push({
          subjectId: plan.subjectId,
          reason: `held at ${partner} but not to be sent now (${plan.action.kind === 'none' ? plan.action.reason : plan.action.kind}): lift that, then rerun`,
        });
    }
    const batch = sendable.map((plan) => ({
      plan,
      job: { trigger: 'ops' as const, correlationId: run.correlationId, operator: run.operator, attempt: 1 },
    }));
    const results = await runReconcileBatch(deps, adapter, batch);
    // A Stripe customer lost by hand and created again is drift repaired, and logged so; at a partner
    // keyed by the pseudonym the new id is the point of the rotation, not a repair.
    if (!moves)
      await noteDriftRepairs(
        deps,
        adapter,
        sendable.map((plan) => ({ plan, trigger: 'ops' as const, operator: run.operator })),
        results,
      );
    results.forEach((result, i) => {
      const subjectId = sendable[i]!.subjectId;
      if (result.status === 'completed') (moves ? eraseOld : done).push(subjectId);
      else (result.status === 'failed' ? out.retry : out.operator).push({ subjectId, reason: result.error });
    });
  }

  await markRotated(deps.db, partner, done);
  if (eraseOld.length > 0) {
    const startedAt = new Date();
    const erased = await eraseUnderOld(deps, adapter, old, run, eraseOld);
    for (const subjectId of eraseOld) {
      const result = erased.get(subjectId);
      if (result && !('error' in result)) {
        // Recorded at once: a crash after this does not redo the subject.
        await deps.db.transaction(async (tx) => {
          await forgetOldPseudonym(tx, partner, subjectId, old.pseudonym(partner, subjectId), startedAt);
          await markRotated(tx, partner, [subjectId]);
        });
        done.push(subjectId);
      } else
        (result?.permanent ? out.operator : out.retry).push({ subjectId, reason: result?.error ?? 'erase failed' });
    }
  }
  return done;
}
