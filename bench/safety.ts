/**
 * Part 7, safety: a resync whose source lost 30% of its records (a partial scan, a host bug) must
 * delete nothing and report the deletion limit, in about the time of a dry run. N subjects (at most
 * 2,000) are synced to Stripe and E-logistik for real; then the source loses the last 30% and a dry
 * run and a real resync are timed one after the other in the same process and store.
 */
import { createGateway } from '../src/gateway.ts';
import type { RecordSource } from '../src/source.ts';
import {
  SECRETS,
  benchSandbox,
  benchSource,
  count,
  freshEngine,
  limitsOff,
  quietLogger,
  round,
  sandboxAdapters,
  totalRequests,
  type Engine,
} from './common.ts';

export const SAFETY_SUBJECTS = Math.min(2_000, count('BENCH_SAFETY_SUBJECTS', 2_000));
const PARTNERS = ['stripe', 'elogistik'];

export interface SafetyResult {
  readonly subjects: number;
  readonly lost: number;
  readonly dryRunSeconds: number;
  readonly resyncSeconds: number;
  readonly refused: boolean;
  readonly limit: { readonly count: number; readonly share: number };
  /** Partner requests and jobs the refused resync caused (0 and 0 when it deleted nothing). */
  readonly partnerCalls: number;
  readonly enqueued: number;
  readonly missingNoted: number;
  /** Subjects Stripe still holds afterwards (all N). */
  readonly stillHeld: number;
}

export async function deletionLimit(engine: Engine): Promise<SafetyResult> {
  const n = SAFETY_SUBJECTS;
  const kept = Math.round(n * 0.7);
  const full = benchSource(1, n);
  const partial = benchSource(1, kept);
  let source: RecordSource = full;
  const sandbox = await benchSandbox(false);
  const store = freshEngine(engine);
  try {
    const gateway = await createGateway({
      database: store.database,
      adapters: sandboxAdapters(sandbox, PARTNERS),
      source: { get: (id) => source.get(id), scan: () => source.scan() },
      secrets: SECRETS,
      limits: limitsOff(PARTNERS),
      logger: quietLogger(),
    });
    try {
      await gateway.resync({ operator: 'bench' });
      await gateway.runUntilIdle({ timeoutMs: 300_000 });
      source = partial;

      let started = performance.now();
      await gateway.resync({ dryRun: true, operator: 'bench' });
      const dryRunSeconds = (performance.now() - started) / 1000;
      const before = totalRequests(await sandbox.stats());
      started = performance.now();
      const summary = await gateway.resync({ operator: 'bench' });
      const resyncSeconds = (performance.now() - started) / 1000;
      await gateway.runUntilIdle({ timeoutMs: 300_000 });
      const [held] = await gateway.database.query<{ n: number }>(
        `select count(*)::int as n from links where partner = 'stripe' and holds`,
      );
      return {
        subjects: n,
        lost: n - kept,
        dryRunSeconds: round(dryRunSeconds, 2),
        resyncSeconds: round(resyncSeconds, 2),
        refused: summary.deletions.refused,
        limit: summary.deletions.limit,
        partnerCalls: totalRequests(await sandbox.stats()) - before,
        enqueued: summary.enqueued,
        missingNoted: (await gateway.status()).missingRecords.count,
        stillHeld: held?.n ?? 0,
      };
    } finally {
      await gateway.stop();
    }
  } finally {
    await store.cleanup();
    await sandbox.close();
  }
}
