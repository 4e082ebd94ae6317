/**
 * How many batches a partner's worker holds at once (src/workers.ts batchesAtOnce). A partner without
 * a rate: one, on both engines (a second one overlapped nothing measurable and cost PostgreSQL a
 * third more CPU per job: bench 1a). A partner with a rate, on PostgreSQL: two, so the next batch is
 * readied (its intents committed) while the first one calls and the rate stays in use between them.
 * On PGlite always one: its statements share the process's one thread, nothing overlaps.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { UpsertInput } from '../../src/adapter.ts';
import { createGateway } from '../../src/gateway.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import { engine, testDatabase } from '../support/database.ts';
import { capturedLogger } from '../support/log-capture.ts';
import { MemoryAdapter } from '../support/memory-adapter.ts';
import { canaryRecord, MemorySource } from '../support/records.ts';
import { testSecrets } from '../support/harness.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Counts the calls in flight at once. */
class SlowAdapter extends MemoryAdapter {
  total = 0;
  maxTotal = 0;
  override async upsert(input: UpsertInput, ctx: Parameters<MemoryAdapter['upsert']>[1]) {
    this.maxTotal = Math.max(this.maxTotal, ++this.total);
    try {
      await new Promise((r) => setTimeout(r, 80));
      return await super.upsert(input, ctx);
    } finally {
      this.total--;
    }
  }
}

const BATCH = 5;

/**
 * Resyncs 20 subjects to a slow partner (unrated unless limits say) in batches of BATCH; returns the adapter, the ok
 * outcomes, and the most intents ever open at once (committed, no outcome yet) in log order.
 */
async function runBatches(firstRecord: number, limits?: { perSecond: number }) {
  const db = await testDatabase();
  cleanups.push(async () => {
    await db.close();
    await db.drop();
  });
  const adapter = new SlowAdapter('elogistik');
  const gateway = await createGateway({
    batchSize: BATCH,
    ...(limits ? { limits: { elogistik: limits } } : {}),
    policy: loadPolicyFile(),
    database: db,
    adapters: [adapter],
    source: new MemorySource(Array.from({ length: 20 }, (_, i) => canaryRecord(firstRecord + i))),
    secrets: testSecrets,
    logger: capturedLogger().logger,
  });
  cleanups.push(() => gateway.stop());
  await gateway.resync();
  await gateway.runUntilIdle();
  const rows = (await gateway.audit.list({ partner: 'elogistik' })).sort((a, b) =>
    BigInt(a.seq) < BigInt(b.seq) ? -1 : 1,
  );
  let open = 0;
  let maxOpen = 0;
  for (const row of rows) {
    if (row.kind === 'intent') maxOpen = Math.max(maxOpen, ++open);
    else if (row.kind === 'outcome') open--;
  }
  return { adapter, okOutcomes: rows.filter((r) => r.kind === 'outcome' && r.outcome === 'ok').length, maxOpen };
}

describe(`batches held at once, on ${engine}`, () => {
  it('a partner without a rate: one batch at a time, never more intents open or calls in flight than one batch', async () => {
    const { adapter, okOutcomes, maxOpen } = await runBatches(300);
    expect(adapter.calls).toHaveLength(20);
    expect(okOutcomes).toBe(20);
    expect(maxOpen).toBeLessThanOrEqual(BATCH);
    // The per-process limit (10) would allow two batches' calls at once.
    expect(adapter.maxTotal).toBeLessThanOrEqual(BATCH);
  });

  it.skipIf(engine !== 'postgres')(
    'a partner with a rate, on PostgreSQL: the next batch is readied while the first one calls',
    async () => {
      const { adapter, okOutcomes, maxOpen } = await runBatches(400, { perSecond: 200 });
      expect(adapter.calls).toHaveLength(20);
      expect(okOutcomes).toBe(20);
      // At some point more intents were open than one batch has: a second batch was readied while the first one called.
      expect(maxOpen).toBeGreaterThan(BATCH);
    },
  );

  it.skipIf(engine !== 'pglite')('a partner with a rate, on PGlite: still one batch at a time', async () => {
    const { okOutcomes, maxOpen } = await runBatches(500, { perSecond: 200 });
    expect(okOutcomes).toBe(20);
    expect(maxOpen).toBeLessThanOrEqual(BATCH);
  });
});
