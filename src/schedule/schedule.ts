import { randomUUID } from 'node:crypto';
import type { Job, PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import type { Trigger } from '../log/transfer-log.ts';
import type { Database } from '../store/database.ts';
import {
  createPartnerQueues,
  enqueue,
  startBoss,
  toPgBossResults,
  type EnqueueOptions,
  type RetryPolicy,
} from './boss.ts';
import { BatchDeadline } from './batch-deadline.ts';
import { deadLetterQueue, reconcileQueue, type JobResult, type ReconcileJobData } from './job.ts';
import { subjectJobs, type QueueState } from './subject-jobs.ts';

/**
 * schedule: everything pg-boss. Queues per partner keyed by subject, workers, retries, dead letters
 * and the counts status() shows. The only module that knows pg-boss or its tables: it uses pg-boss's
 * API where it has one (findJobs, redrive) and owns the few statements it has none for (exact counts
 * for runUntilIdle and status, which getQueueStats serves from a monitor's cache).
 */
export interface WorkItem {
  readonly data: ReconcileJobData;
  /** 1 on the first try. */
  readonly attempt: number;
  /** No retry is left: a failure now makes the job a dead letter. */
  readonly lastAttempt: boolean;
}

export type BatchHandler = (partner: string, items: readonly WorkItem[], signal: AbortSignal) => Promise<JobResult[]>;

export interface QueueCounts {
  readonly partner: string;
  readonly queued: number;
  readonly retrying: number;
  readonly active: number;
  readonly deadLetters: number;
  /** Seconds the oldest job ready to run has waited (0 when none waits): how far the workers lag. */
  readonly lagSeconds: number;
}

export interface DeadLetterJob {
  readonly id: string;
  readonly partner: string;
  readonly data: ReconcileJobData;
  readonly createdOn: Date | null;
  /** The job's own last error message (no personal value), when it recorded one. */
  readonly message: string | null;
}

export interface Schedule {
  enqueue(partner: string, jobs: readonly ReconcileJobData[], options?: EnqueueOptions): Promise<void>;
  /** One job per partner given (default: every partner) for the subject, sharing a correlation id. */
  enqueueSubject(
    subjectId: string,
    trigger: Trigger,
    options?: { partners?: readonly string[]; operator?: string; tx?: EnqueueOptions['tx'] },
  ): Promise<void>;
  /** Starts a worker per partner in this process (idempotent). */
  work(
    handler: BatchHandler,
    options: {
      batchSize(partner: string): number;
      concurrency(partner: string): number;
      pollingIntervalSeconds: number;
    },
  ): Promise<void>;
  /** Jobs not yet settled, and the partners that have jobs ready to fetch now. */
  pending(includeDeferred: boolean): Promise<{ total: number; ready: string[] }>;
  wake(partner: string): void;
  working(): string[];
  counts(): Promise<QueueCounts[]>;
  /** Per subject, the partners with a job waiting or running, and those with a dead letter. */
  subjectJobs(subjectIds: readonly string[]): Promise<Map<string, QueueState>>;
  deadLetters(partner: string): Promise<DeadLetterJob[]>;
  /** Moves dead letters back to their partner queue with the data they carried; returns how many. */
  redrive(partner: string, ids?: readonly string[]): Promise<number>;
  stop(): Promise<void>;
}

export async function createSchedule(deps: {
  readonly db: Database;
  readonly partners: readonly string[];
  readonly retry: RetryPolicy;
  readonly logger: Logger;
}): Promise<Schedule> {
  const { db, partners } = deps;
  const boss: PgBoss = await startBoss(db, deps.retry, (error) =>
    deps.logger.error({ err: { message: error.message } }, 'queue error'),
  );
  await createPartnerQueues(boss, partners, deps.retry);
  const workerIds = new Map<string, string>();
  const wake = (partner: string) => {
    const id = workerIds.get(partner);
    if (id) boss.notifyWorker(id);
  };

  return {
    enqueue: async (partner, jobs, options = {}) => {
      await enqueue(boss, partner, jobs, options);
      wake(partner);
    },
    enqueueSubject: async (subjectId, trigger, options = {}) => {
      const correlationId = randomUUID();
      const job = { subjectId, trigger, correlationId, ...(options.operator ? { operator: options.operator } : {}) };
      const targets = options.partners ?? partners;
      if (options.tx) {
        // The host's transaction is one connection: its statements go one after another anyway.
        for (const partner of targets) await enqueue(boss, partner, [job], { tx: options.tx });
        targets.forEach(wake);
        return;
      }
      // One queue per partner: all inserts at once, so the last partner's worker does not wait for the
      // others' round trips (an erasure is done when its last partner is).
      await Promise.all(
        targets.map(async (partner) => {
          await enqueue(boss, partner, [job]);
          wake(partner);
        }),
      );
    },
    work: async (handler, options) => {
      for (const partner of partners) {
        if (workerIds.has(partner)) continue;
        const id = await boss.work<ReconcileJobData>(
          reconcileQueue(partner),
          // burstWhenBatchFull: a full batch means more are waiting, so fetch again at once rather than
          // sleep out the polling interval between batches. Stately queues hand each subject to one
          // batch at a time, whatever the concurrency.
          {
            batchSize: options.batchSize(partner),
            burstWhenBatchFull: true,
            localConcurrency: options.concurrency(partner),
            perJobResults: true,
            pollingIntervalSeconds: options.pollingIntervalSeconds,
          },
          async (jobs: Job<ReconcileJobData>[]) => {
            // Calls stop when any job's claim is lost (pg-boss aborts its signal) or when the batch
            // nears its expiry, so no job is ever worked on by two workers at once.
            const batch = batchSignal(
              jobs.map((job) => job.signal),
              deps.retry.expireInSeconds,
            );
            // The queue's retry limit is the configured one (createPartnerQueues updates it at start).
            const items = jobs.map((job) => ({
              data: job.data,
              attempt: job.retryCount + 1,
              lastAttempt: job.retryCount >= deps.retry.retryLimit,
            }));
            try {
              return toPgBossResults(jobs, await handler(partner, items, batch.signal));
            } finally {
              batch.release();
            }
          },
        );
        workerIds.set(partner, id);
      }
    },
    pending: async (includeDeferred) => {
      const rows = await db.query<{ name: string; n: number; ready: number }>(
        `select name, count(*)::int as n,
           (count(*) filter (where state <> 'active' and start_after <= now()))::int as ready
         from ${db.schema}_queue.job
         where name = any($1::text[]) and state in ('active', 'created', 'retry')
           and ($2 or state = 'active' or start_after <= now())
         group by name`,
        [partners.map(reconcileQueue), includeDeferred],
      );
      return {
        total: rows.reduce((sum, r) => sum + r.n, 0),
        ready: partners.filter((p) => rows.some((r) => r.name === reconcileQueue(p) && r.ready > 0)),
      };
    },
    wake,
    working: () => [...workerIds.keys()],
    counts: async () => {
      // lag: how long the oldest job ready to run has waited since it became ready (its start_after).
      const rows = await db.query<{ name: string; state: string; ready: boolean; n: number; lag: number }>(
        `select name, state, start_after <= now() as ready, count(*)::int as n,
           greatest(0, extract(epoch from now() - min(start_after)))::float8 as lag
         from ${db.schema}_queue.job
         where name = any($1::text[]) and state in ('created', 'retry', 'active') group by 1, 2, 3`,
        [partners.flatMap((p) => [reconcileQueue(p), deadLetterQueue(p)])],
      );
      const count = (name: string, match: (r: { state: string; ready: boolean }) => boolean) =>
        rows.filter((r) => r.name === name && match(r)).reduce((sum, r) => sum + r.n, 0);
      return partners.map((p) => ({
        partner: p,
        queued: count(reconcileQueue(p), (r) => r.state !== 'active' && r.ready),
        retrying: count(reconcileQueue(p), (r) => r.state !== 'active' && !r.ready),
        active: count(reconcileQueue(p), (r) => r.state === 'active'),
        deadLetters: count(deadLetterQueue(p), () => true),
        lagSeconds: Math.max(
          0,
          ...rows.filter((r) => r.name === reconcileQueue(p) && r.state !== 'active' && r.ready).map((r) => r.lag),
        ),
      }));
    },
    subjectJobs: (subjectIds) => subjectJobs(db, subjectIds, partners),
    deadLetters: async (partner) => {
      const jobs = await boss.findJobs<ReconcileJobData>(deadLetterQueue(partner), { queued: true });
      return jobs.map((job) => ({
        id: job.id,
        partner,
        data: job.data,
        createdOn: job.createdOn ?? null,
        message: messageOf(job.sourceOutput) ?? messageOf(job.output),
      }));
    },
    redrive: async (partner, ids) => {
      if (ids && ids.length === 0) return 0;
      const taken = await handOver(db, partner, ids);
      const moved = await boss.redrive(deadLetterQueue(partner), { ...(ids ? { ids: [...ids] } : {}), limit: 100_000 });
      return moved + taken;
    },
    stop: async () => {
      // Graceful: workers finish the jobs in hand (their outcome rows are written) before we close.
      await boss.stop({ graceful: true, timeout: 30_000, close: !('pglite' in db.boss) });
    },
  };
}

/**
 * The batch's one signal: aborted when any job's own signal aborts (its claim lost) or a margin before
 * the jobs expire (the margin: a third of the expiry, at most 30 s, for the calls in flight and the
 * outcome rows; expiries under 6 s are for tests that want a dead worker's jobs back fast, where no
 * margin would leave time for any call). A plain controller, not AbortSignal.any over the jobs'
 * signals: every call combines the batch's signal with its own (the REST client, the SDKs), and a composite one
 * makes each of those, and each read of `aborted`, walk every job's signal: O(jobs) per call,
 * measured as a fifth of the gateway's CPU per batch of 100. release() drops the listeners and the timer.
 */
export function batchSignal(
  jobSignals: readonly AbortSignal[],
  expireInSeconds: number,
): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const abort = (reason?: unknown) => controller.abort(reason);
  const listeners = jobSignals.map((signal) => {
    const onAbort = () => abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  });
  const aborted = jobSignals.find((signal) => signal.aborted);
  if (aborted) abort(aborted.reason);
  const timer =
    expireInSeconds < 6
      ? undefined
      : setTimeout(() => abort(new BatchDeadline()), (expireInSeconds - Math.min(30, expireInSeconds / 3)) * 1000);
  timer?.unref();
  return {
    signal: controller.signal,
    release: () => {
      clearTimeout(timer);
      for (const remove of listeners) remove();
    },
  };
}

/**
 * A dead letter whose subject already has a job waiting in the (stately) partner queue cannot be put
 * back beside it: pg-boss fails it in place, and what it carried (resync's force) would be lost while
 * the dead letter vanishes from the list. The waiting job takes it over instead: it gets the force,
 * and the dead letter is settled as handed over. Returns how many were handed over.
 */
async function handOver(db: Database, partner: string, ids: readonly string[] | undefined): Promise<number> {
  const q = `${db.schema}_queue.job`;
  const rows = await db.query<{ id: string }>(
    `with dead as (
       select d.id, d.data from ${q} d
       where d.name = $1 and d.state = 'created' and ($3::text[] is null or d.id::text = any($3::text[]))
     ), waiting as (
       select w.id, w.singleton_key from ${q} w
       where w.name = $2 and w.state in ('created', 'retry') and w.singleton_key in (select data->>'subjectId' from dead)
     ), forced as (
       update ${q} w set data = w.data || '{"force": true}'::jsonb
       from waiting
       where w.name = $2 and w.id = waiting.id
         and exists (select 1 from dead where dead.data->>'subjectId' = waiting.singleton_key and (dead.data->>'force')::boolean)
     )
     update ${q} d set state = 'completed', completed_on = now(),
       output = jsonb_build_object('message', 'handed over to the job already waiting for the subject', 'handedOverTo', waiting.id::text)
     from dead, waiting
     where d.name = $1 and d.id = dead.id and dead.data->>'subjectId' = waiting.singleton_key
     returning d.id`,
    [deadLetterQueue(partner), reconcileQueue(partner), ids ? [...ids] : null],
  );
  return rows.length;
}

function messageOf(output: object | null | undefined): string | null {
  const message = (output as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : null;
}
