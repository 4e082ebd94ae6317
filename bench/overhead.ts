/**
 * Part 1, overhead: reconcile jobs per second with partner limits and latency off (sandbox limits
 * off, gateway limits overridden to no rate and high concurrency), against a naive loop of one
 * adapter.upsert per record with no queue and no log. Both against fresh emulators.
 */
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
  limitsOff,
  quietLogger,
  round,
  sandboxAdapters,
  subjectId,
  totalRequests,
  type Engine,
} from './common.ts';

export const OVERHEAD_SUBJECTS = count('BENCH_OVERHEAD_SUBJECTS', 3_000);

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
  readonly baselineCalls: number;
  readonly baselineSeconds: number;
  readonly baselineCallsPerSecond: number;
  readonly ratio: number;
}

export async function overhead(engine: Engine): Promise<OverheadResult> {
  const n = OVERHEAD_SUBJECTS;
  const policy = loadPolicyFile();

  // The naive baseline first: the same records, one upsert per (record, partner), in a loop.
  const naive = await benchSandbox(false);
  let baseline: { calls: number; seconds: number };
  try {
    const keys = createKeys(SECRETS);
    const adapters = sandboxAdapters(naive, SYNC_PARTNERS);
    let calls = 0;
    const started = performance.now();
    for (const adapter of adapters) {
      for (let k = 1; k <= n; k++) {
        const record = parseMasterRecord(benchRecord(k));
        const payload = minimise(record, adapter.partner, policy);
        const id = subjectId(k);
        await adapter.upsert!(
          { payload, ref: { pseudonym: keys.pseudonym(adapter.partner, id), partnerIds: [] } },
          { correlationId: 'bench', idempotencyKey: `bench-${adapter.partner}-${id}` },
        );
        calls++;
      }
    }
    baseline = { calls, seconds: (performance.now() - started) / 1000 };
  } finally {
    await naive.close();
  }

  // The gateway: resync of n new subjects at every partner, worked off until idle.
  const sandbox = await benchSandbox(false);
  const store = freshEngine(engine);
  try {
    const gateway = await createGateway({
      policy,
      database: store.database,
      adapters: sandboxAdapters(sandbox),
      source: benchSource(1, n),
      secrets: SECRETS,
      limits: limitsOff(),
      logger: quietLogger(),
    });
    try {
      const before = totalRequests(await sandbox.stats());
      const started = performance.now();
      const summary = await gateway.resync({ operator: 'bench' });
      const resyncSeconds = (performance.now() - started) / 1000;
      await gateway.runUntilIdle({ timeoutMs: 600_000 });
      const seconds = (performance.now() - started) / 1000;
      const requests = totalRequests(await sandbox.stats()) - before;
      const [{ ok } = { ok: 0 }] = await gateway.database.query<{ ok: number }>(
        `select count(*)::int as ok from transfer_log where kind = 'outcome' and outcome = 'ok'`,
      );
      const jobsPerSecond = summary.enqueued / seconds;
      const callsPerSecond = baseline.calls / baseline.seconds;
      return {
        subjects: n,
        partners: SYNC_PARTNERS,
        jobs: summary.enqueued,
        seconds: round(seconds, 2),
        jobsPerSecond: round(jobsPerSecond),
        resyncSeconds: round(resyncSeconds, 2),
        partnerRequests: requests,
        notCompleted: summary.enqueued - ok,
        baselineCalls: baseline.calls,
        baselineSeconds: round(baseline.seconds, 2),
        baselineCallsPerSecond: round(callsPerSecond),
        ratio: round(jobsPerSecond / callsPerSecond, 3),
      };
    } finally {
      await gateway.stop();
    }
  } finally {
    await store.cleanup();
    await sandbox.close();
  }
}
