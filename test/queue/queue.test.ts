import { afterEach, describe, expect, it } from 'vitest';
import type { UpsertInput } from '../../src/adapter.ts';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import type { Database } from '../../src/store/database.ts';
import { engine, testDatabase } from '../support/database.ts';
import { capturedLogger } from '../support/log-capture.ts';
import { MemoryAdapter } from '../support/memory-adapter.ts';
import { canaryRecord, MemorySource } from '../support/records.ts';
import { testSecrets } from '../support/harness.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An adapter that takes its time and records how many calls per subject were in flight at once. */
class SlowAdapter extends MemoryAdapter {
  readonly inFlight = new Map<string, number>();
  maxPerSubject = 0;
  total = 0;
  maxTotal = 0;
  readonly callTimes: number[] = [];
  readonly delayMs: number;
  constructor(partner: string, delayMs: number) {
    super(partner);
    this.delayMs = delayMs;
  }
  override async upsert(input: UpsertInput, ctx: Parameters<MemoryAdapter['upsert']>[1]) {
    const key = input.ref.pseudonym;
    const n = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, n);
    this.maxPerSubject = Math.max(this.maxPerSubject, n);
    this.maxTotal = Math.max(this.maxTotal, ++this.total);
    this.callTimes.push(Date.now());
    try {
      await new Promise((r) => setTimeout(r, this.delayMs));
      return await super.upsert(input, ctx);
    } finally {
      this.inFlight.set(key, this.inFlight.get(key)! - 1);
      this.total--;
    }
  }
}

async function gatewayOn(
  db: Database,
  adapter: MemoryAdapter,
  source: MemorySource,
  limits?: Record<string, { perSecond?: number; burst?: number; maxConcurrent?: number }>,
  batchSize?: number,
): Promise<Gateway> {
  const gateway = await createGateway({
    ...(batchSize ? { batchSize } : {}),
    policy: loadPolicyFile(),
    database: db,
    adapters: [adapter],
    source,
    secrets: testSecrets,
    logger: capturedLogger().logger,
    ...(limits ? { limits } : {}),
  });
  cleanups.push(() => gateway.stop());
  return gateway;
}

describe(`queue on ${engine}`, () => {
  it('never works on one (subject, partner) twice at once, even with two worker processes', async () => {
    const db = await testDatabase();
    cleanups.push(async () => {
      await db.close();
      await db.drop();
    });
    const source = new MemorySource([canaryRecord(1), canaryRecord(2)]);
    const a = new SlowAdapter('elogistik', 40);
    const first = await gatewayOn(db, a, source);
    // A second "process": on PostgreSQL a second connection pool; on PGlite (single-process) a second gateway in this one.
    const second = engine === 'postgres' ? await gatewayOn(await sharedDb(db), a, source) : undefined;
    await first.work({ pollingIntervalSeconds: 0.5 });
    await second?.work({ pollingIntervalSeconds: 0.5 });
    for (let i = 0; i < 15; i++) {
      for (const n of [1, 2]) {
        source.put(
          canaryRecord(n, {
            address: { street: `Canarygatan ${i}`, postalCode: '11122', city: 'Stockholm', country: 'SE' },
          }),
        );
        await (i % 2 === 0 || !second ? first : second).changed(`subj-${n}`);
      }
      await new Promise((r) => setTimeout(r, 15));
    }
    await first.runUntilIdle();
    expect(a.maxPerSubject).toBe(1);
    // Changes collapse into the queued job (level-triggered): fewer calls than changes, the last state wins.
    expect(a.calls.length).toBeLessThan(30);
    expect([...a.held.values()].map((h) => h.payload.address?.street).sort()).toEqual([
      'Canarygatan 14',
      'Canarygatan 14',
    ]);
  });

  it('keeps to the partner rate limit across all workers', async () => {
    const db = await testDatabase();
    cleanups.push(async () => {
      await db.close();
      await db.drop();
    });
    const source = new MemorySource(Array.from({ length: 30 }, (_, i) => canaryRecord(100 + i)));
    const a = new SlowAdapter('elogistik', 1);
    const limits = { elogistik: { perSecond: 10, burst: 2 } };
    const first = await gatewayOn(db, a, source, limits);
    const second = engine === 'postgres' ? await gatewayOn(await sharedDb(db), a, source, limits) : undefined;
    await second?.work({ pollingIntervalSeconds: 0.5 });
    await first.resync();
    await first.runUntilIdle();
    expect(a.calls).toHaveLength(30);
    // No one-second window holds more than rate + burst calls. (An upper bound: a slow machine only lowers it.)
    const times = a.callTimes.sort((x, y) => x - y);
    for (let i = 0; i < times.length; i++) {
      const inWindow = times.filter((t) => t >= times[i]! && t < times[i]! + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(12);
    }
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(2_500);
  });

  it('keeps to the partner concurrency limit across all workers', async () => {
    const db = await testDatabase();
    cleanups.push(async () => {
      await db.close();
      await db.drop();
    });
    const source = new MemorySource(Array.from({ length: 24 }, (_, i) => canaryRecord(200 + i)));
    const a = new SlowAdapter('elogistik', 60);
    const limits = { elogistik: { maxConcurrent: 3 } };
    // Small batches, so both processes hold jobs at the same time.
    const first = await gatewayOn(db, a, source, limits, 3);
    const second = engine === 'postgres' ? await gatewayOn(await sharedDb(db), a, source, limits, 3) : undefined;
    await first.resync();
    await Promise.all([first.runUntilIdle(), second?.runUntilIdle()]);
    expect(a.calls).toHaveLength(24);
    expect(a.maxTotal).toBeLessThanOrEqual(3);
    // With two processes each allowed 3 locally, only the shared slots keep the total at 3.
    expect(a.maxTotal).toBeGreaterThanOrEqual(2);
  });

  it('retries with exponential backoff and jitter, then dead-letters', async () => {
    const db = await testDatabase();
    cleanups.push(async () => {
      await db.close();
      await db.drop();
    });
    const gateway = await gatewayOn(db, new MemoryAdapter('elogistik'), new MemorySource());
    const rows = await db.query<{
      retry_limit: number;
      retry_delay: number;
      retry_backoff: boolean;
      dead_letter: string;
      policy: string;
    }>(
      `select retry_limit, retry_delay, retry_backoff, dead_letter, policy from ${db.schema}_queue.queue where name = 'partner-gateway.reconcile.elogistik'`,
    );
    expect(rows).toEqual([
      {
        retry_limit: 8,
        retry_delay: 5,
        retry_backoff: true,
        dead_letter: 'partner-gateway.dead.elogistik',
        policy: 'stately',
      },
    ]);
    expect(gateway).toBeDefined();
  });

  it('applies a changed retry policy to the queues a gateway made before, the delay cap included', async () => {
    const db = await testDatabase();
    cleanups.push(async () => {
      await db.close();
      await db.drop();
    });
    const open = async (retry: { retryLimit: number; retryDelaySeconds: number; retryDelayMaxSeconds: number }) => {
      const gateway = await createGateway({
        policy: loadPolicyFile(),
        database: db,
        adapters: [new MemoryAdapter('elogistik')],
        source: new MemorySource(),
        secrets: testSecrets,
        logger: capturedLogger().logger,
        retry,
      });
      await gateway.stop();
    };
    const read = () =>
      db.query<{ retry_limit: number; retry_delay: number; retry_delay_max: number | null; dead_letter: string }>(
        `select retry_limit, retry_delay, retry_delay_max, dead_letter from ${db.schema}_queue.queue where name = 'partner-gateway.reconcile.elogistik'`,
      );
    await open({ retryLimit: 3, retryDelaySeconds: 2, retryDelayMaxSeconds: 30 });
    expect(await read()).toEqual([
      { retry_limit: 3, retry_delay: 2, retry_delay_max: 30, dead_letter: 'partner-gateway.dead.elogistik' },
    ]);
    await open({ retryLimit: 5, retryDelaySeconds: 4, retryDelayMaxSeconds: 600 });
    expect(await read()).toEqual([
      { retry_limit: 5, retry_delay: 4, retry_delay_max: 600, dead_letter: 'partner-gateway.dead.elogistik' },
    ]);
  });
});

/** Another connection pool on the same PostgreSQL schema, as a second worker process would have. */
async function sharedDb(db: Awaited<ReturnType<typeof testDatabase>>) {
  const { openDatabase } = await import('../../src/store/database.ts');
  const other = await openDatabase({
    url: process.env.PARTNER_GATEWAY_TEST_DATABASE_URL!,
    schema: db.schema,
    poolSize: 4,
  });
  cleanups.push(() => other.close());
  return other;
}
