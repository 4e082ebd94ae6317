/**
 * Part 9 and 10, for the host (issue 14): how fast a host's test suite gets a gateway, and what an
 * idle gateway costs in memory.
 *
 * 9: `createTestGateway()` (partner-gateway/testing: `database: { memory: true }`, every adapter
 * configured) started and stopped HOST_STARTS times in one fresh process, the template cache in the
 * directory given (run.ts runs it twice on one new directory: cache absent, then present).
 * 10: a gateway with 2 or 7 partners configured, its workers started and nothing to do, in a fresh
 * process of its own; RSS once garbage collection has settled.
 */
import { readdirSync } from 'node:fs';
import { createGateway } from '../src/gateway.ts';
import { openDatabase } from '../src/store/database.ts';
import { createTestGateway } from '../src/testing/index.ts';
import {
  ALL_PARTNERS,
  benchSandbox,
  benchSource,
  count,
  freshEngine,
  memoryBreakdown,
  pgliteOf,
  quietLogger,
  round,
  sandboxAdapters,
  sleep,
  SECRETS,
  type Engine,
  type MemoryBreakdown,
} from './common.ts';

export const HOST_STARTS = count('BENCH_HOST_STARTS', 10, 2);
/** The partners of the 2-partner gateway: one plain-HTTP adapter and one with an SDK. */
export const TWO_PARTNERS = ['elogistik', 'stripe'] as const;

export interface HostStartResult {
  /** Whether the template cache directory held a template when this process started. */
  readonly cache: 'absent' | 'present';
  readonly firstMs: number;
  /** The starts after the first, in order. */
  readonly laterMs: readonly number[];
  readonly stopMs: readonly number[];
  /** `openDatabase({ memory: true })` alone, as many times, after the gateways: the store's share. */
  readonly databaseMs: readonly number[];
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();

export async function hostStarts(cacheDir: string): Promise<HostStartResult> {
  // memory-template.ts reads the variable at each open: this process's template cache is cacheDir.
  process.env.PARTNER_GATEWAY_CACHE_DIR = cacheDir;
  const cache = readdirSync(cacheDir).some((file) => file.endsWith('.tar')) ? 'present' : 'absent';
  const sandbox = await benchSandbox(false);
  try {
    const starts: number[] = [];
    const stops: number[] = [];
    for (let i = 0; i < HOST_STARTS; i++) {
      const started = performance.now();
      // What a host's beforeEach awaits: the gateway ready to take calls.
      const gateway = await createTestGateway({
        adapters: sandboxAdapters(sandbox),
        source: benchSource(1, 0),
        logger: quietLogger(),
      });
      starts.push(performance.now() - started);
      const stopping = performance.now();
      await gateway.stop();
      stops.push(performance.now() - stopping);
    }
    const databases: number[] = [];
    for (let i = 0; i < HOST_STARTS; i++) {
      const started = performance.now();
      const db = await openDatabase({ memory: true });
      databases.push(performance.now() - started);
      await db.close();
    }
    const ms = (x: number) => round(x, 0);
    return {
      cache,
      firstMs: ms(starts[0]!),
      laterMs: starts.slice(1).map(ms),
      stopMs: stops.map(ms),
      databaseMs: databases.map(ms),
    };
  } finally {
    await sandbox.close();
  }
}

export interface IdleResult {
  readonly partners: readonly string[];
  /** After the workers started and GC settled (two samples within 1 MB, or the last of 10). */
  readonly settled: MemoryBreakdown;
  /** Right after createGateway() and work(), before any settling: for comparison. */
  readonly started: MemoryBreakdown;
}

export async function idleRss(engine: Engine, partnerCount: number): Promise<IdleResult> {
  const partners = partnerCount === 2 ? [...TWO_PARTNERS] : ALL_PARTNERS.slice(0, partnerCount);
  const sandbox = await benchSandbox(false);
  const store = freshEngine(engine);
  try {
    const gateway = await createGateway({
      database: store.database,
      adapters: sandboxAdapters(sandbox, partners),
      source: benchSource(1, 0),
      secrets: SECRETS,
      logger: quietLogger(),
    });
    try {
      await gateway.work();
      const pglite = pgliteOf(gateway.database);
      const started = memoryBreakdown(pglite);
      // A few polling rounds of every worker first, so what the idle loop allocates is in the figure.
      await sleep(3_000);
      let settled = memoryBreakdown(pglite);
      for (let i = 0; i < 10; i++) {
        gc();
        await sleep(1_000);
        const next = memoryBreakdown(pglite);
        const steady = Math.abs(next.rssMb - settled.rssMb) < 1;
        settled = next;
        if (steady) break;
      }
      return { partners, settled, started };
    } finally {
      await gateway.stop();
    }
  } finally {
    await store.cleanup();
    await sandbox.close();
  }
}
