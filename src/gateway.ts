import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { PgBoss, Job } from 'pg-boss';
import type { PartnerAdapter } from './adapter.ts';
import { createKeys, type GatewaySecrets } from './keys.ts';
import { sealAll, sealBatch, verifyChain, type VerifyResult } from './log/chain.ts';
import { listTransfers, type TransferFilter, type TransferRow } from './log/query.ts';
import { writeEvent, type Trigger } from './log/transfer-log.ts';
import { fromDocument, loadPolicyFile, type Policy, type PolicyDocument } from './policy/index.ts';
import {
  createPartnerQueues,
  defaultRetryPolicy,
  enqueue,
  startBoss,
  toPgBossResults,
  type EnqueueOptions,
  type RetryPolicy,
} from './queue/boss.ts';
import { deadLetterQueue, reconcileQueue, type ReconcileJobData } from './queue/job.ts';
import { ConcurrencySlots } from './queue/concurrency.ts';
import { RateLimiter, Semaphore, type PartnerLimits } from './queue/rate-limit.ts';
import { runReconcileJobs, type WorkerContext } from './queue/reconcile-worker.ts';
import { performAction } from './queue/action.ts';
import { resync, type ResyncOptions, type ResyncSummary } from './resync.ts';
import type { RecordSource } from './source.ts';
import type { GatewayObserver } from './observe.ts';
import { openDatabase, type Database, type DatabaseOptions } from './store/database.ts';
import { createLifecycle } from './lifecycle/index.ts';
import type { Lifecycle, LifecycleHooks } from './lifecycle/types.ts';
import { listMigrations, migrate } from './store/migrate.ts';

export interface GatewayOptions {
  /** A path to a policy YAML file, a parsed document, or a loaded Policy. Default: config/policy.yaml. */
  readonly policy?: string | Policy | PolicyDocument;
  /** Default: PARTNER_GATEWAY_DATABASE_URL, else embedded PGlite in ./.partner-gateway. */
  readonly database?: DatabaseOptions | Database;
  /** One adapter per partner; a partner without one is left alone. */
  readonly adapters: readonly PartnerAdapter[];
  readonly source: RecordSource;
  readonly secrets: GatewaySecrets;
  /** Per-partner limits; default: what each adapter declares (the partner's documented limits). */
  readonly limits?: Readonly<Record<string, PartnerLimits>>;
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Jobs a worker takes per fetch. Default: 100, or the adapter's largest batch call where it has one
   * (Mailchimp: 500), so a resync fills whole batch calls.
   */
  readonly batchSize?: number;
  readonly logger?: Logger;
  /** The host's part in erasure: anonymise camera data, hear that a subject is erased. */
  readonly hooks?: LifecycleHooks;
  /** Injectable clock (tests). */
  readonly now?: () => Date;
  /** Hears every partner call, pause and job outcome (metrics). */
  readonly observer?: GatewayObserver;
}

export interface Gateway extends Lifecycle {
  readonly policy: Policy;
  readonly database: Database;
  /** The master record of a subject changed (or may have): bring every partner in step. */
  changed(subjectId: string, options?: EnqueueOptions & { operator?: string }): Promise<void>;
  resync(options?: ResyncOptions): Promise<ResyncSummary>;
  /**
   * A one-off action at an action partner, now (Twilio: `call(id, 'alarm', { twiml })`). Refused for
   * an erased or restricted subject. Returns the partner's id for what it created (the call sid).
   */
  call(
    subjectId: string,
    action: string,
    params: Readonly<Record<string, unknown>>,
    options?: { partner?: string; operator?: string },
  ): Promise<{ partnerId: string; correlationId: string }>;
  /**
   * Starts workers for every partner queue in this process (until stop()), the background sealing of
   * the transfer log, and the check for erasures that fell due (every `dueErasureCheckSeconds`, 60).
   */
  work(options?: { pollingIntervalSeconds?: number; dueErasureCheckSeconds?: number }): Promise<void>;
  /**
   * Works until no job is ready, for tests, the CLI and one-shot runs. Retries waiting out their
   * backoff are left for later unless `waitForRetries` (then it returns when the queues are empty).
   */
  runUntilIdle(options?: { timeoutMs?: number; waitForRetries?: boolean }): Promise<void>;
  deadLetters(partner?: string): Promise<DeadLetter[]>;
  /** Queue depth, in-flight, failures and dead letters per partner; erasures pending and overdue. */
  status(): Promise<GatewayStatus>;
  /** Puts dead letters back on their partner queue (all of a partner's, or the ids given). */
  redrive(partner: string, ids?: readonly string[], options?: { operator?: string }): Promise<number>;
  readonly audit: {
    verify(): Promise<VerifyResult>;
    list(filter?: TransferFilter): Promise<TransferRow[]>;
    /** Seals every unsealed row now (workers also seal in the background). */
    seal(): Promise<number>;
  };
  /** Writes an event row (restriction, consent, operator action) to the transfer log. */
  logEvent(event: {
    subjectId?: string;
    partner?: string;
    operation: string;
    trigger: Trigger;
    operator?: string;
    purpose?: string;
    legalBasis?: string;
  }): Promise<void>;
  /** Enqueues reconcile jobs for a subject at the partners given (default: all with adapters). */
  enqueueSubject(
    subjectId: string,
    trigger: Trigger,
    options?: { partners?: readonly string[]; operator?: string; tx?: EnqueueOptions['tx'] },
  ): Promise<void>;
  readonly now: () => Date;
  readonly logger: Logger;
  /** For readiness probes: the database answers, its migrations are current, workers run in this process. */
  health(): Promise<GatewayHealth>;
  stop(): Promise<void>;
}

export interface GatewayHealth {
  readonly database: boolean;
  readonly migrations: { readonly applied: number; readonly expected: number };
  /** Partners whose worker runs in this process (empty before work()). */
  readonly working: readonly string[];
  readonly stopped: boolean;
}

export interface PartnerStatus {
  readonly partner: string;
  /** Ready to run now. */
  readonly queued: number;
  /** Waiting for a retry (backoff) or a later start. */
  readonly retrying: number;
  readonly active: number;
  readonly deadLetters: number;
  /** Calls that failed in the last 24 hours. */
  readonly failedCalls24h: number;
}

export interface GatewayStatus {
  readonly partners: readonly PartnerStatus[];
  readonly erasures: { readonly pending: number; readonly overdue: number };
  readonly log: { readonly unsealed: number };
}

export interface DeadLetter {
  readonly id: string;
  readonly partner: string;
  readonly subjectId: string;
  readonly trigger: string;
  readonly createdOn: Date | null;
  readonly error: string | null;
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const policy = resolvePolicy(options.policy);
  const keys = createKeys(options.secrets);
  const logger =
    options.logger ?? pino({ name: 'partner-gateway', level: process.env.PARTNER_GATEWAY_LOG_LEVEL ?? 'info' });
  const now = options.now ?? (() => new Date());
  const adapters = new Map<string, PartnerAdapter>();
  for (const adapter of options.adapters) {
    if (!policy.document.partners[adapter.partner])
      throw new Error(
        `adapter for ${adapter.partner}: the policy has no such partner (it has ${policy.partnerNames.join(', ')})`,
      );
    if (adapters.has(adapter.partner)) throw new Error(`two adapters for ${adapter.partner}`);
    adapters.set(adapter.partner, adapter);
  }
  const partners = policy.partnerNames.filter((p) => adapters.has(p));
  const database =
    'query' in (options.database ?? {})
      ? (options.database as Database)
      : await openDatabase(options.database as DatabaseOptions | undefined);
  const ownsDatabase = database !== options.database;
  await migrate(database);

  const limits = new Map<string, PartnerLimits>(
    partners.map((p) => [p, { ...adapters.get(p)!.limits, ...options.limits?.[p] }]),
  );
  const limiter = new RateLimiter(database, limits);
  await limiter.ensure(partners);
  const semaphores = new Map(partners.map((p) => [p, new Semaphore(limits.get(p)?.maxConcurrent ?? 10)]));
  // PGlite serves one process, so its semaphores are the whole truth; on PostgreSQL workers share slots.
  const slots =
    database.engine === 'postgres'
      ? new ConcurrencySlots(
          database,
          new Map(
            partners.flatMap((p) =>
              limits.get(p)?.maxConcurrent ? [[p, limits.get(p)!.maxConcurrent!] as const] : [],
            ),
          ),
        )
      : undefined;
  await slots?.ensure();
  const retry = { ...defaultRetryPolicy, ...options.retry };
  const boss: PgBoss = await startBoss(database, retry, (error) =>
    logger.error({ err: { message: error.message } }, 'queue error'),
  );
  await createPartnerQueues(boss, partners, retry);

  const workerContext: WorkerContext & { onErased?: WorkerContext['onErased'] } = {
    db: database,
    policy,
    keys,
    adapters,
    source: options.source,
    limiter,
    concurrency: (p) => semaphores.get(p)!,
    ...(slots ? { slots } : {}),
    logger,
    now,
    observer: options.observer,
  };
  const batchSizeOf = (partner: string) =>
    options.batchSize ??
    Math.max(100, adapters.get(partner)!.upsertBatch ? (adapters.get(partner)!.maxBatchSize ?? 0) : 0);
  const workerIds = new Map<string, string>();
  let sealTimer: NodeJS.Timeout | undefined;
  let dueTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  const enqueueSubject: Gateway['enqueueSubject'] = async (subjectId, trigger, opts = {}) => {
    const correlationId = randomUUID();
    for (const partner of opts.partners ?? partners) {
      await enqueue(
        boss,
        partner,
        [{ subjectId, trigger, correlationId, ...(opts.operator ? { operator: opts.operator } : {}) }],
        opts.tx ? { tx: opts.tx } : {},
      );
      wake(partner);
    }
  };

  const wake = (partner: string) => {
    const id = workerIds.get(partner);
    if (id) boss.notifyWorker(id);
  };

  const handle = async (partner: string, jobs: Job<ReconcileJobData>[]) => {
    try {
      const results = await runReconcileJobs(
        workerContext,
        partner,
        jobs.map((job) => ({ data: job.data, attempt: job.retryCount + 1 })),
      );
      for (const r of results) options.observer?.jobSettled?.(partner, r.status);
      return toPgBossResults(jobs, results);
    } catch (error) {
      // A bug or a database failure: retry the jobs, and keep the raw error (its stack, a query's
      // parameters) out of the job table and the log; its class and code say enough to find it.
      const { name, code } = error as { name?: string; code?: string };
      logger.error({ partner, jobs: jobs.length, error: { name, code } }, 'reconcile batch failed');
      return toPgBossResults(
        jobs,
        jobs.map(() => ({
          status: 'failed' as const,
          error: `internal error (${name ?? 'Error'}${code ? ` ${code}` : ''})`,
        })),
      );
    }
  };

  const work: Gateway['work'] = async (workOptions = {}) => {
    for (const partner of partners) {
      if (workerIds.has(partner)) continue;
      const id = await boss.work<ReconcileJobData>(
        reconcileQueue(partner),
        // burstWhenBatchFull: a full batch means more are waiting, so fetch again at once rather than
        // sleep out the polling interval between batches (which capped a busy partner at one batch per interval).
        // Two batches at once for a rated partner: one batch's statements (intents before, outcomes after)
        // overlap the other's paced calls, so the partner's rate is not left unused while the database
        // works. An unrated partner is bound by CPU, where a second batch only adds contention. Stately
        // queues still hand each subject to one batch at a time.
        {
          batchSize: batchSizeOf(partner),
          burstWhenBatchFull: true,
          localConcurrency: limiter.hasRate(partner) ? 2 : 1,
          perJobResults: true,
          pollingIntervalSeconds: workOptions.pollingIntervalSeconds ?? 0.5,
        },
        (jobs: Job<ReconcileJobData>[]) => handle(partner, jobs),
      );
      workerIds.set(partner, id);
    }
    sealTimer ??= setInterval(
      () =>
        void sealBatch(database).catch((error: Error) =>
          logger.error({ error: { name: error.name, code: (error as { code?: string }).code } }, 'log sealing failed'),
        ),
      1_000,
    );
    sealTimer.unref();
    if (workOptions.dueErasureCheckSeconds !== 0 && !dueTimer) {
      dueTimer = setInterval(
        () =>
          void lifecycle.api
            .processDueErasures()
            .catch((error: Error) =>
              logger.error(
                { error: { name: error.name, code: (error as { code?: string }).code } },
                'due erasure check failed',
              ),
            ),
        (workOptions.dueErasureCheckSeconds ?? 60) * 1_000,
      );
      dueTimer.unref();
    }
  };

  /** Jobs not yet settled, and the partners that have jobs ready to fetch now. */
  const pendingJobs = async (includeDeferred: boolean): Promise<{ total: number; ready: string[] }> => {
    const rows = await database.query<{ name: string; n: number; ready: number }>(
      `select name, count(*)::int as n, (count(*) filter (where state <> 'active' and start_after <= now()))::int as ready
       from ${database.schema}_queue.job
       where name = any($1::text[]) and (state in ('active', 'created', 'retry') and ($2 or state = 'active' or start_after <= now()))
       group by name`,
      [partners.map(reconcileQueue), includeDeferred],
    );
    return {
      total: rows.reduce((sum, r) => sum + r.n, 0),
      ready: partners.filter((p) => rows.some((r) => r.name === reconcileQueue(p) && r.ready > 0)),
    };
  };

  const logEvent: Gateway['logEvent'] = async (event) => {
    await writeEvent(database, { ...event, correlationId: randomUUID(), policyDigest: policy.digest });
  };
  const lifecycle = createLifecycle({
    db: database,
    policy,
    keys,
    adapters,
    hooks: options.hooks ?? {},
    now,
    logger,
    enqueueSubject,
    logEvent,
  });
  workerContext.onErased = (subjectId, partner) => lifecycle.internals.onPartnerErased(subjectId, partner);

  const gateway: Gateway = {
    ...lifecycle.api,
    policy,
    database,
    now,
    logger,
    enqueueSubject,
    changed: async (subjectId, opts = {}) => {
      // Partners in mode action/none hold nothing we sync; a change concerns them only on erasure.
      const synced = partners.filter((p) => policy.partner(p).mode === 'sync');
      await enqueueSubject(subjectId, 'change', {
        partners: synced,
        ...(opts.operator ? { operator: opts.operator } : {}),
        ...(opts.tx ? { tx: opts.tx } : {}),
      });
    },
    resync: async (resyncOptions = {}) => {
      const correlationId = randomUUID();
      const summary = await resync(
        {
          sql: database,
          policy,
          keys,
          adapters,
          source: options.source,
          now,
          enqueue: async (partner, subjectIds) => {
            const trigger: Trigger = 'resync';
            await enqueue(
              boss,
              partner,
              subjectIds.map((subjectId) => ({
                subjectId,
                trigger,
                correlationId,
                ...(resyncOptions.force ? { force: true } : {}),
                ...(resyncOptions.operator ? { operator: resyncOptions.operator } : {}),
              })),
            );
            wake(partner);
          },
        },
        resyncOptions,
        correlationId,
      );
      if (!resyncOptions.dryRun)
        await gateway.logEvent({
          operation: 'resync',
          trigger: 'resync',
          ...(resyncOptions.operator ? { operator: resyncOptions.operator } : {}),
        });
      return summary;
    },
    work,
    call: async (subjectId, action, params, callOptions = {}) => {
      const partner = callOptions.partner ?? partners.find((p) => policy.partner(p).mode === 'action');
      if (!partner) throw new Error('no action partner is configured');
      return performAction(workerContext, partner, subjectId, action, params, callOptions.operator);
    },
    runUntilIdle: async ({ timeoutMs = 120_000, waitForRetries = false } = {}) => {
      await work({ pollingIntervalSeconds: 0.5 });
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const pending = await pendingJobs(waitForRetries);
        if (pending.total === 0) break;
        if (Date.now() > deadline) throw new Error(`queues not idle after ${timeoutMs} ms`);
        // Only workers with jobs to fetch: waking the others costs an empty fetch each, every turn.
        for (const partner of pending.ready) wake(partner);
        // Workers with full batches go on by themselves (burstWhenBatchFull), so this check is only for
        // the end and for partial batches: counting the job table every 25 ms cost the database more
        // than the wake-ups saved.
        await new Promise((r) => setTimeout(r, 100));
      }
      await sealAll(database);
    },
    deadLetters: async (partner) => {
      const out: DeadLetter[] = [];
      for (const p of partner ? [partner] : partners) {
        const jobs = await boss.findJobs<ReconcileJobData & { message?: string }>(deadLetterQueue(p), {
          queued: true,
        } as never);
        for (const job of jobs) {
          out.push({
            id: job.id,
            partner: p,
            subjectId: job.data.subjectId,
            trigger: job.data.trigger,
            createdOn: (job as unknown as { createdOn?: Date }).createdOn ?? null,
            error: await lastError(database, p, job.data.subjectId),
          });
        }
      }
      return out;
    },
    redrive: async (partner, ids, redriveOptions = {}) => {
      const jobs = await boss.findJobs<ReconcileJobData>(deadLetterQueue(partner), { queued: true } as never);
      const chosen = ids ? jobs.filter((j) => ids.includes(j.id)) : jobs;
      const correlationId = randomUUID();
      const operator = redriveOptions.operator ?? 'redrive';
      await enqueue(
        boss,
        partner,
        chosen.map((j) => ({ subjectId: j.data.subjectId, trigger: j.data.trigger, correlationId, operator })),
      );
      if (chosen.length > 0) await logEvent({ partner, operation: 'redrive', trigger: 'ops', operator });
      if (chosen.length > 0)
        await boss.deleteJob(
          deadLetterQueue(partner),
          chosen.map((j) => j.id),
        );
      wake(partner);
      return chosen.length;
    },
    audit: {
      verify: async () => {
        await sealAll(database);
        return verifyChain(database);
      },
      list: (filter) => listTransfers(database, filter),
      seal: () => sealAll(database),
    },
    logEvent,
    status: async () => {
      const queueRows = await database.query<{ name: string; state: string; ready: boolean; n: number }>(
        `select name, state, start_after <= now() as ready, count(*)::int as n from ${database.schema}_queue.job
         where name = any($1::text[]) and state in ('created', 'retry', 'active') group by 1, 2, 3`,
        [partners.flatMap((p) => [reconcileQueue(p), deadLetterQueue(p)])],
      );
      const failures = await database.query<{ partner: string; n: number }>(
        `select partner, count(*)::int as n from transfer_log where kind = 'outcome' and outcome <> 'ok' and at > now() - interval '1 day' group by 1`,
      );
      const count = (name: string, match: (r: { state: string; ready: boolean }) => boolean) =>
        queueRows.filter((r) => r.name === name && match(r)).reduce((sum, r) => sum + r.n, 0);
      const pending = await lifecycle.api.pendingErasures();
      const at = now().getTime();
      const [{ unsealed } = { unsealed: 0 }] = await database.query<{ unsealed: number }>(
        `select count(*)::int as unsealed from transfer_log where chain_pos is null`,
      );
      return {
        partners: partners.map((p) => ({
          partner: p,
          queued: count(reconcileQueue(p), (r) => r.state !== 'active' && r.ready),
          retrying: count(reconcileQueue(p), (r) => r.state !== 'active' && !r.ready),
          active: count(reconcileQueue(p), (r) => r.state === 'active'),
          deadLetters: count(deadLetterQueue(p), () => true),
          failedCalls24h: failures.find((f) => f.partner === p)?.n ?? 0,
        })),
        erasures: {
          pending: pending.length,
          // Overdue: due more than a day ago and still not confirmed everywhere.
          overdue: pending.filter((e) => e.dueAt && at - e.dueAt.getTime() > 24 * 3600 * 1000).length,
        },
        log: { unsealed },
      };
    },
    health: async () => {
      const expected = Math.max(0, ...listMigrations().map((m) => m.version));
      try {
        const [row] = await database.query<{ applied: number }>(
          `select coalesce(max(version), 0)::int as applied from schema_migrations`,
        );
        return {
          database: true,
          migrations: { applied: row?.applied ?? 0, expected },
          working: [...workerIds.keys()],
          stopped,
        };
      } catch {
        return { database: false, migrations: { applied: 0, expected }, working: [...workerIds.keys()], stopped };
      }
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (sealTimer) clearInterval(sealTimer);
      if (dueTimer) clearInterval(dueTimer);
      // Graceful: workers finish the jobs in hand (their outcome rows are written) before we close.
      await boss.stop({ graceful: true, timeout: 30_000, close: 'pglite' in database.boss ? false : true } as never);
      await sealAll(database).catch(() => undefined);
      if (ownsDatabase) await database.close();
    },
  };
  return gateway;
}

async function lastError(db: Database, partner: string, subjectId: string): Promise<string | null> {
  const [row] = await db.query<{ error_code: string | null; http_status: number | null }>(
    `select error_code, http_status from transfer_log where kind = 'outcome' and outcome <> 'ok' and partner = $1 and subject_id = $2 order by seq desc limit 1`,
    [partner, subjectId],
  );
  return row ? [row.http_status ? `HTTP ${row.http_status}` : null, row.error_code].filter(Boolean).join(' ') : null;
}

function resolvePolicy(policy: GatewayOptions['policy']): Policy {
  if (policy === undefined) return loadPolicyFile();
  if (typeof policy === 'string') return loadPolicyFile(policy);
  if ('digest' in policy && 'document' in policy) return policy as Policy;
  return fromDocument(policy as PolicyDocument);
}
