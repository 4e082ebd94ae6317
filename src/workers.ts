import type { Logger } from 'pino';
import type { PartnerAdapter } from './adapter.ts';
import { noteDriftRepairs } from './drift-repair.ts';
import { sealAll, sealBatch } from './log/chain.ts';
import type { GatewayObserver } from './observe.ts';
import { planBatch, type PlanDeps } from './plan/batch.ts';
import type { Schedule, WorkItem } from './schedule/schedule.ts';
import type { JobResult, ReconcileJobData as JobData } from './schedule/job.ts';
import type { Database } from './store/database.ts';
import { runReconcileBatch } from './transfer/reconcile-batch.ts';
import type { RecordedId } from './transfer/log-ids.ts';
import type { Transfer } from './transfer/transfer.ts';

export interface WorkersDeps extends PlanDeps {
  readonly db: Database;
  readonly adapters: ReadonlyMap<string, PartnerAdapter>;
  readonly schedule: Schedule;
  readonly transfer: Transfer;
  readonly recordedId: RecordedId;
  readonly logger: Logger;
  readonly observer?: GatewayObserver | undefined;
  readonly batchSize?: number | undefined;
  readonly onErased: (subjectId: string, partner: string) => Promise<void>;
  readonly processDueErasures: () => Promise<unknown>;
}

export interface Workers {
  work(options?: { pollingIntervalSeconds?: number; dueErasureCheckSeconds?: number }): Promise<void>;
  runUntilIdle(options?: { timeoutMs?: number; waitForRetries?: boolean }): Promise<void>;
  stop(): void;
}

const FOLLOWED_UP = new Set(['unrestrict', 'unrestrict_no_mechanism', 'unrestrict_without_consent']);

function followsUp(result: JobResult): boolean {
  return result.status === 'completed' && FOLLOWED_UP.has(result.action);
}

/** The workers of this process: reconcile jobs (plan, then transfer), log sealing, due erasures. */
export function createWorkers(deps: WorkersDeps): Workers {
  let sealTimer: NodeJS.Timeout | undefined;
  let dueTimer: NodeJS.Timeout | undefined;
  const logFailure = (what: string) => (error: Error) =>
    deps.logger.error({ error: { name: error.name, code: (error as { code?: string }).code } }, what);

  // A subject erased to drop a field the partner cannot clear is made again by its next job.
  const recreate = (partner: string, jobs: readonly (JobData & { attempt: number })[]) =>
    deps.schedule.enqueue(
      partner,
      jobs.map(({ subjectId, trigger, correlationId, operator }) => ({
        subjectId,
        trigger,
        correlationId,
        ...(operator ? { operator } : {}),
      })),
    );

  const handle = async (partner: string, items: readonly WorkItem[], signal: AbortSignal): Promise<JobResult[]> => {
    const results = await settle(partner, items, signal);
    // A failure on the last attempt is a dead letter (pg-boss moves it): the observer hears it as one.
    results.forEach((r, i) =>
      deps.observer?.jobSettled?.(partner, r.status === 'failed' && items[i]!.lastAttempt ? 'deadletter' : r.status),
    );
    return results;
  };

  const settle = async (partner: string, items: readonly WorkItem[], signal: AbortSignal): Promise<JobResult[]> => {
    const results = await handleOnce(partner, items, signal);
    // Lifting a restriction is one step (unarchive, or a note); what changed meanwhile (a rectified
    // address) is the next, planned at once rather than left for the next change or resync.
    const again = items.flatMap((item, i) => (followsUp(results[i]!) ? [{ item, i }] : []));
    if (again.length === 0 || signal.aborted) return results;
    const more = await handleOnce(
      partner,
      again.map((a) => a.item),
      signal,
    );
    again.forEach(({ i }, n) => {
      const first = results[i] as Extract<JobResult, { status: 'completed' }>;
      const next = more[n]!;
      // A failed second step fails the job: its retry plans from what the first step left.
      results[i] =
        next.status === 'completed' ? { status: 'completed', action: `${first.action}+${next.action}` } : next;
    });
    return results;
  };

  const handleOnce = async (partner: string, items: readonly WorkItem[], signal: AbortSignal): Promise<JobResult[]> => {
    try {
      const plans = await planBatch(
        deps,
        partner,
        items.map((i) => ({ subjectId: i.data.subjectId, force: i.data.force })),
      );
      const results = await runReconcileBatch(
        { ...deps, recreate },
        deps.adapters.get(partner)!,
        plans.map((plan, i) => ({ plan, job: { ...items[i]!.data, attempt: items[i]!.attempt } })),
        signal,
      );
      await noteDriftRepairs(
        deps,
        deps.adapters.get(partner)!,
        plans.map((plan, i) => ({ plan, trigger: items[i]!.data.trigger, operator: items[i]!.data.operator })),
        results,
      ).catch(logFailure('drift repair note failed'));
      for (const [i, r] of results.entries()) {
        if (r.status === 'deadletter' && plans[i]!.kind === 'invalid') {
          const { subjectId } = items[i]!.data;
          deps.logger.warn(
            { subjectId, partner, problems: (plans[i] as { problems: unknown }).problems },
            'invalid master record: nothing sent',
          );
        }
      }
      return results;
    } catch (error) {
      // A bug or a database failure: retry the jobs, and keep the raw error (its stack, a query's
      // parameters) out of the job table and the log; its class and code say enough to find it.
      const { name, code } = error as { name?: string; code?: string };
      deps.logger.error({ partner, jobs: items.length, error: { name, code } }, 'reconcile batch failed');
      const message = `internal error (${name ?? 'Error'}${code ? ` ${code}` : ''})`;
      return items.map(() => ({ status: 'failed' as const, error: message }));
    }
  };

  const batchSizeOf = (partner: string) => {
    const adapter = deps.adapters.get(partner)!;
    return deps.batchSize ?? Math.max(100, adapter.upsertBatch ? (adapter.maxBatchSize ?? 0) : 0);
  };

  const work: Workers['work'] = async (options = {}) => {
    // Two batches at once only for a partner with a rate on PostgreSQL: while one batch writes its
    // outcomes, completes its jobs and fetches, plans and commits the next, the other keeps the rate
    // in use. A partner without a rate gains nothing from the overlap (bench 1a with 20-60 ms of
    // latency: 1,966 jobs/s with one batch, 1,974 with two) and a second fetcher on the same queue
    // cost PostgreSQL a third more CPU per job (0.30 against 0.22 ms without latency, where one batch
    // did 2,131-2,203 jobs/s and two 2,027-2,044). PGlite runs every statement on this process's one
    // thread: one batch (bench 1a on PGlite: 802 jobs/s with one, 726 with two).
    const batchesAtOnce = (partner: string) =>
      deps.db.engine === 'postgres' && deps.transfer.hasRate(partner) ? 2 : 1;
    await deps.schedule.work(handle, {
      batchSize: batchSizeOf,
      concurrency: batchesAtOnce,
      pollingIntervalSeconds: options.pollingIntervalSeconds ?? 0.5,
    });
    sealTimer ??= setInterval(
      () => void sealBatch(deps.db, deps.keys.audit, { skipIfBusy: true }).catch(logFailure('log sealing failed')),
      1_000,
    );
    sealTimer.unref();
    if (options.dueErasureCheckSeconds !== 0 && !dueTimer) {
      const every = (options.dueErasureCheckSeconds ?? 60) * 1_000;
      dueTimer = setInterval(() => void deps.processDueErasures().catch(logFailure('due erasure check failed')), every);
      dueTimer.unref();
    }
  };

  return {
    work,
    runUntilIdle: async ({ timeoutMs = 120_000, waitForRetries = false } = {}) => {
      await work({ pollingIntervalSeconds: 0.5 });
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const pending = await deps.schedule.pending(waitForRetries);
        if (pending.total === 0) break;
        if (Date.now() > deadline) throw new Error(`queues not idle after ${timeoutMs} ms`);
        // Only workers with jobs to fetch: waking the others costs an empty fetch each, every turn.
        for (const partner of pending.ready) deps.schedule.wake(partner);
        // Full batches go on by themselves (burstWhenBatchFull); this check is for partial batches and
        // the end, and counting the job table more often cost the database more than it saved.
        await new Promise((r) => setTimeout(r, 100));
      }
      await sealAll(deps.db, deps.keys.audit);
    },
    stop: () => {
      if (sealTimer) clearInterval(sealTimer);
      if (dueTimer) clearInterval(dueTimer);
    },
  };
}
