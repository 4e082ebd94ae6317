/**
 * Part 1, overhead: reconcile jobs per second with partner limits and latency off (sandbox limits
 * off, gateway limits overridden to no rate and high concurrency), against the loops a host would
 * write by hand instead, with no queue and no log: one adapter.upsert per record, with as many calls
 * in flight as the gateway has (the reference), and one at a time. Each against fresh emulators, all
 * three in the same process and run, side by side.
 */
import type { PartnerAdapter } from '../src/adapter.ts';
import { createGateway } from '../src/gateway.ts';
import { createKeys } from '../src/keys.ts';
import { minimise } from '../src/minimise.ts';
import { loadPolicyFile } from '../src/policy/index.ts';
import { parseMasterRecord } from '../src/record.ts';
import {
  SECRETS,
  SYNC_PARTNERS,
  benchRecord,
  benchSandbox,
  benchSource,
  count,
  freshEngine,
  LIMITS_OFF_MAX_CONCURRENT,
  pool,
  setting,
  limitsOff,
  quietLogger,
  round,
  sandboxAdapters,
  subjectId,
  totalRequests,
  type Engine,
} from './common.ts';

export const OVERHEAD_SUBJECTS = count('BENCH_OVERHEAD_SUBJECTS', 3_000);

/**
 * Calls in flight per partner in the concurrent loop: what the gateway has in this workload. Its
 * worker per partner takes batches of 100 jobs (src/workers.ts batchSizeOf: at least 100, more only
 * for adapters with upsertBatch, which the sync partners lack), one batch at a time for a partner
 * without a rate (src/workers.ts batchesAtOnce), and runs a batch's calls at once up to the partner's
 * maxConcurrent (src/transfer/pacing.ts; here LIMITS_OFF_MAX_CONCURRENT). The four partners' workers
 * run at once.
 */
export const GATEWAY_BATCH_SIZE = 100;
export const LOOP_IN_FLIGHT = setting(
  'BENCH_LOOP_IN_FLIGHT',
  LIMITS_OFF_MAX_CONCURRENT > 0 ? Math.min(GATEWAY_BATCH_SIZE, LIMITS_OFF_MAX_CONCURRENT) : 10,
);

export interface OverheadResult {
  readonly subjects: number;
  readonly partners: readonly string[];
  readonly jobs: number;
  readonly seconds: number;
  readonly jobsPerSecond: number;
  readonly resyncSeconds: number;
  readonly partnerRequests: number;
  /** Jobs not completed when the queues went idle (failed and waiting to retry, or dead letters). */
  readonly notCompleted: number;
  /** The sequential loop: one call at a time. */
  readonly baselineCalls: number;
  readonly baselineSeconds: number;
  readonly baselineCallsPerSecond: number;
  /** Gateway jobs/s over the sequential loop's calls/s. */
  readonly ratio: number;
  /** The concurrent loop: loopInFlight calls in flight per partner, every partner at once. */
  readonly loopInFlight: number;
  readonly loopCalls: number;
  readonly loopSeconds: number;
  readonly loopCallsPerSecond: number;
  /** Gateway jobs/s over the concurrent loop's calls/s: the target line. */
  readonly loopRatio: number;
  /** CPU of this process per job (gateway) and per call (concurrent loop): what the gateway adds. */
  readonly cpuMsPerJob: number;
  readonly loopCpuMsPerCall: number;
}

export interface GatewayRun {
  readonly jobs: number;
  readonly seconds: number;
  readonly resyncSeconds: number;
  readonly partnerRequests: number;
  readonly notCompleted: number;
  /** CPU this process used during the run (the sandbox and PostgreSQL are other processes). */
  readonly cpuMs: number;
}

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

/** One upsert per (record, partner) straight to the adapters: what a host would write instead. */
async function handLoop(inFlight: number): Promise<{ calls: number; seconds: number; cpuMs: number }> {
  const n = OVERHEAD_SUBJECTS;
  const policy = loadPolicyFile();
  const sandbox = await benchSandbox(false);
  try {
    const keys = createKeys(SECRETS);
    const adapters = sandboxAdapters(sandbox, SYNC_PARTNERS);
    const subjects = Array.from({ length: n }, (_, i) => i + 1);
    let calls = 0;
    const upsert = async (adapter: (typeof adapters)[number], k: number) => {
      const record = parseMasterRecord(benchRecord(k));
      const payload = minimise(record, adapter.partner, policy);
      const id = subjectId(k);
      await adapter.upsert!(
        { payload, ref: { pseudonym: keys.pseudonym(adapter.partner, id), partnerIds: [] } },
        { correlationId: 'bench', idempotencyKey: `bench-${adapter.partner}-${id}` },
      );
      calls++;
    };
    const cpu = process.cpuUsage();
    const started = performance.now();
    if (inFlight <= 1) {
      for (const adapter of adapters) for (const k of subjects) await upsert(adapter, k);
    } else {
      await Promise.all(adapters.map((adapter) => pool(subjects, inFlight, (k) => upsert(adapter, k))));
    }
    return { calls, seconds: (performance.now() - started) / 1000, cpuMs: cpuMs(cpu) };
  } finally {
    await sandbox.close();
  }
}

/** The gateway: resync of N new subjects at every partner, worked off until idle. */
export async function gatewayRun(
  engine: Engine,
  n = OVERHEAD_SUBJECTS,
  hooks: {
    starting?: () => Promise<void>;
    finished?: () => Promise<void>;
    /** Sees every adapter before the gateway gets it (the profile counts calls in flight). */
    adapter?: (adapter: PartnerAdapter) => PartnerAdapter;
  } = {},
): Promise<GatewayRun> {
  const sandbox = await benchSandbox(false);
  const store = freshEngine(engine);
  try {
    const gateway = await createGateway({
      policy: loadPolicyFile(),
      database: store.database,
      adapters: sandboxAdapters(sandbox).map(hooks.adapter ?? ((a) => a)),
      source: benchSource(1, n),
      secrets: SECRETS,
      limits: limitsOff(),
      logger: quietLogger(),
    });
    try {
      const before = totalRequests(await sandbox.stats());
      await hooks.starting?.();
      const cpu = process.cpuUsage();
      const started = performance.now();
      const summary = await gateway.resync({ operator: 'bench' });
      const resyncSeconds = (performance.now() - started) / 1000;
      await gateway.runUntilIdle({ timeoutMs: 600_000 });
      const seconds = (performance.now() - started) / 1000;
      const cpuUsed = cpuMs(cpu);
      await hooks.finished?.();
      const requests = totalRequests(await sandbox.stats()) - before;
      const [{ ok } = { ok: 0 }] = await gateway.database.query<{ ok: number }>(
        `select count(*)::int as ok from transfer_log where kind = 'outcome' and outcome = 'ok'`,
      );
      return {
        jobs: summary.enqueued,
        seconds,
        resyncSeconds,
        partnerRequests: requests,
        notCompleted: summary.enqueued - ok,
        cpuMs: cpuUsed,
      };
    } finally {
      await gateway.stop();
    }
  } finally {
    await store.cleanup();
    await sandbox.close();
  }
}

export async function overhead(engine: Engine): Promise<OverheadResult> {
  const sequential = await handLoop(1);
  const concurrent = await handLoop(LOOP_IN_FLIGHT);
  const g = await gatewayRun(engine);
  const jobsPerSecond = g.jobs / g.seconds;
  const callsPerSecond = sequential.calls / sequential.seconds;
  const loopCallsPerSecond = concurrent.calls / concurrent.seconds;
  return {
    subjects: OVERHEAD_SUBJECTS,
    partners: SYNC_PARTNERS,
    jobs: g.jobs,
    seconds: round(g.seconds, 2),
    jobsPerSecond: round(jobsPerSecond),
    resyncSeconds: round(g.resyncSeconds, 2),
    partnerRequests: g.partnerRequests,
    notCompleted: g.notCompleted,
    baselineCalls: sequential.calls,
    baselineSeconds: round(sequential.seconds, 2),
    baselineCallsPerSecond: round(callsPerSecond),
    ratio: round(jobsPerSecond / callsPerSecond, 3),
    loopInFlight: LOOP_IN_FLIGHT,
    loopCalls: concurrent.calls,
    loopSeconds: round(concurrent.seconds, 2),
    loopCallsPerSecond: round(loopCallsPerSecond),
    loopRatio: round(jobsPerSecond / loopCallsPerSecond, 3),
    cpuMsPerJob: round(g.cpuMs / g.jobs, 3),
    loopCpuMsPerCall: round(concurrent.cpuMs / concurrent.calls, 3),
  };
}
