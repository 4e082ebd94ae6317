import { PgBoss, fromPglite, type Job } from 'pg-boss';
import type { Database } from '../store/database.ts';
import { deadLetterQueue, reconcileQueue, type JobResult, type ReconcileJobData } from './job.ts';

export interface RetryPolicy {
  /** Retries after the first attempt before a job becomes a dead letter. */
  readonly retryLimit: number;
  /** First retry delay, in seconds; doubles each retry, with jitter (pg-boss retryBackoff). */
  readonly retryDelaySeconds: number;
  readonly retryDelayMaxSeconds: number;
  /**
   * The longest a batch may hold its jobs. A worker stops starting calls a margin before it (the
   * jobs it did not reach are retried), so pg-boss never hands a job that is still being worked on
   * to a second worker.
   */
  readonly expireInSeconds: number;
  /**
   * A worker refreshes each job it holds this often (half of it, in fact); a job whose heartbeat
   * lapses (its worker died) is retried at the next monitor pass. At least 10 (pg-boss's minimum).
   */
  readonly heartbeatSeconds: number;
  /** How often lapsed heartbeats and expired jobs are looked for (pg-boss's monitor and supervise passes). */
  readonly superviseIntervalSeconds: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  retryLimit: 8,
  retryDelaySeconds: 5,
  retryDelayMaxSeconds: 3_600,
  expireInSeconds: 3_600,
  // A dead worker's jobs are retried within heartbeat + one pass: at most 15 s, typically ~12 s.
  heartbeatSeconds: 10,
  superviseIntervalSeconds: 5,
};

export async function startBoss(db: Database, retry: RetryPolicy, onError: (error: Error) => void): Promise<PgBoss> {
  const schema = `${db.schema}_queue`;
  // Expiry and lapsed heartbeats are found in the monitor pass, which runs at the slower of the two
  // intervals: both are set, or superviseIntervalSeconds alone would change nothing.
  const common = {
    schema,
    schedule: false,
    supervise: true,
    superviseIntervalSeconds: retry.superviseIntervalSeconds,
    monitorIntervalSeconds: retry.superviseIntervalSeconds,
  };
  const boss =
    'pglite' in db.boss
      ? new PgBoss({ ...common, db: fromPglite(db.boss.pglite) })
      : new PgBoss({ ...common, connectionString: db.boss.connectionString, max: 4 });
  boss.on('error', onError);
  await boss.start();
  return boss;
}

/**
 * One queue per partner, keyed by subject: `stately` lets a subject have one job queued and one
 * active, never two active, so (subject, partner) is never worked on twice at once, and a burst of
 * changes collapses into the one queued job (which reads the current state when it runs).
 */
export async function createPartnerQueues(
  boss: PgBoss,
  partners: readonly string[],
  retry: RetryPolicy,
): Promise<void> {
  for (const partner of partners) {
    const dead = deadLetterQueue(partner);
    if (!(await boss.getQueue(dead)))
      await boss.createQueue(dead, { policy: 'standard', retentionSeconds: 365 * 24 * 3600 });
    const options = {
      policy: 'stately' as const,
      retryLimit: retry.retryLimit,
      retryDelay: retry.retryDelaySeconds,
      retryBackoff: true,
      retryDelayMax: retry.retryDelayMaxSeconds,
      expireInSeconds: retry.expireInSeconds,
      heartbeatSeconds: Math.max(10, Math.round(retry.heartbeatSeconds)),
      deadLetter: dead,
    };
    if (await boss.getQueue(reconcileQueue(partner))) {
      // Everything but the policy, which pg-boss cannot change on a queue that exists.
      const { policy: _policy, ...updatable } = options;
      await boss.updateQueue(reconcileQueue(partner), updatable);
    } else {
      await boss.createQueue(reconcileQueue(partner), options);
    }
  }
}

export interface EnqueueOptions {
  /** Enqueue inside the host's own transaction (pg-boss `db`): committed together or not at all. */
  readonly tx?: { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> };
}

export async function enqueue(
  boss: PgBoss,
  partner: string,
  jobs: readonly ReconcileJobData[],
  options: EnqueueOptions = {},
): Promise<void> {
  if (jobs.length === 0) return;
  const name = reconcileQueue(partner);
  if (options.tx) {
    for (const data of jobs) await boss.send(name, { ...data }, { singletonKey: data.subjectId, db: options.tx });
    return;
  }
  await boss.insert(
    name,
    jobs.map((data) => ({ data: { ...data }, singletonKey: data.subjectId })),
  );
}

export type BatchHandler = (partner: string, jobs: readonly Job<ReconcileJobData>[]) => Promise<JobResult[]>;

/** Settles each job by its own result: completed, failed (pg-boss retries with backoff) or dead-lettered. */
export function toPgBossResults(jobs: readonly Job<ReconcileJobData>[], results: readonly JobResult[]) {
  return jobs.map((job, i) => {
    const r = results[i]!;
    return r.status === 'completed'
      ? { id: job.id, status: 'completed' as const, output: { action: r.action } }
      : { id: job.id, status: r.status, output: { message: r.error } };
  });
}
