/**
 * Part 5, erasure latency: from gateway.erase() to every partner confirmed (the host's `erased` hook,
 * which the gateway calls when it marks the erasure complete; checked with erasureStatus()), with
 * limits and latency off. Subjects are first synced for real to elogistik, Stripe, Intercom and
 * Auth0 (every adapter is configured, so each erasure also reaches the partners that hold nothing).
 * Erasures run one after another while the workers run (gateway.work()), so each latency is the
 * pipeline's own, not time spent queued behind other erasures.
 */
import pg from 'pg';
import { createGateway } from '../src/gateway.ts';
import {
  SECRETS,
  SYNC_PARTNERS,
  benchSandbox,
  benchSource,
  count,
  freshEngine,
  limitsOff,
  percentile,
  quietLogger,
  round,
  sandboxAdapters,
  sleep,
  subjectId,
  type Engine,
} from './common.ts';

export const ERASURE_SUBJECTS = count('BENCH_ERASURE_SUBJECTS', 50);

export interface ErasureResult {
  readonly subjects: number;
  readonly partners: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  readonly allComplete: boolean;
  readonly eraseRequestsPerSubject: number;
  /** Load-robust figures: this process's CPU per erasure, and (PostgreSQL) statements sent per erasure. */
  readonly cpuMsPerErasure: number;
  readonly statementsPerErasure: number | null;
}

export async function erasureLatency(engine: Engine): Promise<ErasureResult> {
  const n = ERASURE_SUBJECTS;
  const sandbox = await benchSandbox(false);
  const store = freshEngine(engine);
  const waiting = new Map<string, () => void>();
  try {
    const adapters = sandboxAdapters(sandbox);
    const gateway = await createGateway({
      database: store.database,
      adapters,
      source: benchSource(1, n),
      secrets: SECRETS,
      limits: limitsOff(),
      logger: quietLogger(),
      hooks: { erased: async (id) => waiting.get(id)?.() },
    });
    try {
      const ids = Array.from({ length: n }, (_, i) => subjectId(i + 1));
      await gateway.resync({ subjects: ids, operator: 'bench' });
      await gateway.runUntilIdle({ timeoutMs: 120_000 });
      const [{ held } = { held: 0 }] = await gateway.database.query<{ held: number }>(
        `select count(*)::int as held from links where holds and partner = any($1::text[])`,
        [[...SYNC_PARTNERS]],
      );
      if (held !== n * SYNC_PARTNERS.length)
        throw new Error(`erasure: expected ${n * SYNC_PARTNERS.length} links after the sync, found ${held}`);

      await gateway.work({ pollingIntervalSeconds: 0.5 });
      const before = await sandbox.stats();
      const latencies: number[] = [];
      let complete = 0;
      const counted = engine === 'postgres' ? countStatements() : undefined;
      const cpu = process.cpuUsage();
      for (const id of ids) {
        const done = new Promise<void>((resolve) => waiting.set(id, resolve));
        const started = performance.now();
        await gateway.erase(id, { reason: 'benchmark erasure request', operator: 'bench' });
        const timeout = sleep(30_000).then(() => 'timeout' as const);
        if ((await Promise.race([done, timeout])) === 'timeout')
          throw new Error(`erasure of ${id} did not complete within 30 s`);
        latencies.push(performance.now() - started);
        counted?.pause();
        if ((await gateway.erasureStatus(id)).complete) complete++;
        counted?.resume();
      }
      const used = process.cpuUsage(cpu);
      const statements = counted?.stop() ?? null;
      const after = await sandbox.stats();
      const eraseRequests = SYNC_PARTNERS.reduce((sum, p) => sum + (after[p]!.requests - before[p]!.requests), 0);
      return {
        subjects: n,
        partners: adapters.length,
        p50Ms: round(percentile(latencies, 50), 0),
        p95Ms: round(percentile(latencies, 95), 0),
        maxMs: round(Math.max(...latencies), 0),
        allComplete: complete === n,
        eraseRequestsPerSubject: round(eraseRequests / n, 2),
        // The check after each erasure (erasureStatus) is not the pipeline's: its statements are left out.
        cpuMsPerErasure: round((used.user + used.system) / 1000 / n, 1),
        statementsPerErasure: statements === null ? null : round(statements / n, 1),
      };
    } finally {
      await gateway.stop();
    }
  } finally {
    await store.cleanup();
    await sandbox.close();
  }
}

/**
 * Statements this process sends to PostgreSQL (the gateway's pool and pg-boss's share pg's Client),
 * counted while on: everything from erase() to the last partner confirmed, pg-boss's own included.
 */
function countStatements() {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  let n = 0;
  let on = true;
  proto.query = function (this: unknown, ...args: unknown[]) {
    if (on) n++;
    return original.apply(this, args);
  };
  return {
    pause: () => void (on = false),
    resume: () => void (on = true),
    stop: () => {
      proto.query = original;
      return n;
    },
  };
}
