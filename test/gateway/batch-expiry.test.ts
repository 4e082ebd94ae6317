/**
 * Issue 11 item 17: a paced batch that outlasts its jobs' expiry must not have its jobs worked on by a
 * second worker while the first still calls. The batch stops starting calls before the expiry (its
 * signal aborts) and the jobs it did not reach are retried. Real Stripe adapter against its emulator;
 * on PostgreSQL two gateways (two workers) share the queue, on PGlite one gateway runs two batches.
 * Checked where it matters: at the emulator (never two requests about one subject in flight at once)
 * and in the log (every request inside its attempt: after the intent, before its outcome).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/gateway.ts';
import type { Gateway } from '../../src/gateway-api.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import type { RetryPolicy } from '../../src/schedule/boss.ts';
import { canaryRecords, MemorySource, startTestPartners, type TestPartners } from '../../src/testing/index.ts';
import { engine, testDatabase } from '../support/database.ts';
import { EmulatorTraffic } from '../support/emulator-traffic.ts';
import { testSecrets } from '../support/harness.ts';
import { capturedLogger } from '../support/log-capture.ts';

const policy = loadPolicyFile();
const records = canaryRecords(40);
let partners: TestPartners;
let traffic: EmulatorTraffic;
beforeAll(async () => {
  partners = await startTestPartners({ partners: ['stripe'] });
  traffic = new EmulatorTraffic(records.map((_, i) => i + 1));
});
afterAll(async () => {
  traffic.stop();
  await partners.stop();
});
afterEach(() => {
  partners.reset();
  traffic.reset();
});

describe('a batch longer than its expiry', () => {
  for (const expireInSeconds of [6, 3]) {
    it(
      `(expiry ${expireInSeconds} s) is never worked on twice at once: no overlap at the partner, no call outside its attempt`,
      { timeout: 120_000 },
      async () => {
        const db = await testDatabase();
        const retry: Partial<RetryPolicy> = {
          expireInSeconds,
          superviseIntervalSeconds: 1,
          retryDelaySeconds: 1,
          retryDelayMaxSeconds: 1,
        };
        const open = () =>
          createGateway({
            policy,
            database: db,
            adapters: partners.adapters(),
            source: new MemorySource(records),
            secrets: testSecrets,
            logger: capturedLogger().logger,
            // 40 calls at 5/s take 8 s in one batch: longer than the expiry.
            limits: { stripe: { perSecond: 5, headroom: 0 } },
            batchSize: 40,
            retry,
          });
        const gateways: Gateway[] = [await open()];
        if (engine === 'postgres') gateways.push(await open());
        try {
          await gateways[0]!.resync();
          await Promise.all(gateways.map((g) => g.runUntilIdle({ waitForRetries: true, timeoutMs: 100_000 })));
          const rows = await gateways[0]!.audit.list({ partner: 'stripe' });
          const intents = rows.filter((r) => r.kind === 'intent');
          const outcomes = rows.filter((r) => r.kind === 'outcome');
          // No attempt was closed as unknown by a second worker. One the gateway cut off itself is
          // allowed: a call started just before the deadline that outlasted the margin on a loaded
          // machine (3 s expiry, 1 s margin) loses its claim, and the log says it may have gone out.
          const unknown = outcomes.filter((o) => o.outcome === 'unknown');
          expect(unknown.filter((o) => o.errorCode !== 'aborted_in_flight')).toEqual([]);
          expect(new Set(outcomes.map((o) => o.intentSeq)).size).toBe(intents.length);
          expect(outcomes.length).toBe(intents.length);
          // At the partner: never two requests about one subject in flight at once, and each request
          // inside an attempt of the log (none made after its intent was closed).
          expect(traffic.overlaps).toEqual([]);
          const windows = intents.map((i) => {
            const o = outcomes.find((x) => x.intentSeq === i.seq)!;
            // A call the gateway cut off ends at the partner when the partner notices: only its start counts.
            const cutOff = o.errorCode === 'aborted_in_flight';
            return { subjectId: i.subjectId, from: i.at.getTime(), to: o.at.getTime(), cutOff };
          });
          const inside = (w: (typeof windows)[number], r: (typeof traffic.requests)[number]) =>
            w.from - 2 <= r.start && (w.cutOff ? r.start : r.end!) <= w.to + 2;
          const outside = traffic.requests.flatMap((r) =>
            r.subjects
              .filter((s) => !windows.some((w) => w.subjectId === s && inside(w, r)))
              .map((s) => `${s} ${r.method} ${r.path}`),
          );
          expect(outside).toEqual([]);
          expect(traffic.requests.every((r) => r.subjects.length === 1)).toBe(true);
          // One create per subject, each the one the log says was ok or may have gone out (a create
          // the partner refused, a 429 on a loaded machine, created nothing and is retried: not
          // counted); the partner holds each subject once.
          const created = partners
            .requests('stripe')
            .filter(
              (r) =>
                r.method === 'POST' && r.path === '/v1/customers' && (r.status ?? 0) >= 200 && (r.status ?? 0) < 300,
            );
          const ok = outcomes.filter((o) => o.outcome === 'ok').length;
          expect(created.length).toBeGreaterThanOrEqual(ok);
          expect(created.length).toBeLessThanOrEqual(ok + unknown.length);
          expect(ok).toBe(40);
          expect(Object.keys(partners.holdings('stripe'))).toHaveLength(40);
          // The batch's signal did stop it: some jobs were left for a retry, not sent late.
          expect(outcomes.filter((o) => o.errorCode === 'not_sent').length).toBeGreaterThan(0);
        } finally {
          for (const g of gateways) await g.stop();
          await db.close();
          await db.drop();
        }
      },
    );
  }
});
