/**
 * Issue 11 item 17: a paced batch that outlasts its jobs' expiry must not have its jobs worked on by a
 * second worker while the first still calls. The batch stops starting calls before the expiry; the
 * jobs it did not reach are retried. Real Stripe adapter against its emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/gateway.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import { canaryRecords, MemorySource, startTestPartners, type TestPartners } from '../../src/testing/index.ts';
import { testDatabase } from '../support/database.ts';
import { testSecrets } from '../support/harness.ts';
import { capturedLogger } from '../support/log-capture.ts';

const policy = loadPolicyFile();
let partners: TestPartners;
beforeAll(async () => {
  partners = await startTestPartners({ partners: ['stripe'] });
});
afterAll(() => partners.stop());

describe('a batch longer than its expiry', () => {
  it(
    'is never worked on twice at once: every intent has one outcome, every request one ok outcome',
    { timeout: 90_000 },
    async () => {
      const db = await testDatabase();
      const records = canaryRecords(40);
      const gateway = await createGateway({
        policy,
        database: db,
        adapters: partners.adapters(),
        source: new MemorySource(records),
        secrets: testSecrets,
        logger: capturedLogger().logger,
        // 40 calls at 5/s take 8 s in one batch; its jobs expire after 6 s.
        limits: { stripe: { perSecond: 5, headroom: 0 } },
        batchSize: 40,
        retry: { expireInSeconds: 6, superviseIntervalSeconds: 1, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 },
      });
      try {
        await gateway.resync();
        await gateway.runUntilIdle({ waitForRetries: true, timeoutMs: 90_000 });
        const rows = await gateway.audit.list({ partner: 'stripe' });
        const intents = rows.filter((r) => r.kind === 'intent');
        const outcomes = rows.filter((r) => r.kind === 'outcome');
        // No attempt was cut off mid-call (that would have been closed as unknown by a second worker).
        expect(outcomes.filter((o) => o.outcome === 'unknown')).toEqual([]);
        expect(new Set(outcomes.map((o) => o.intentSeq)).size).toBe(intents.length);
        const created = partners.requests('stripe').filter((r) => r.method === 'POST' && r.path === '/v1/customers');
        expect(created.length).toBe(outcomes.filter((o) => o.outcome === 'ok').length);
        expect(Object.keys(partners.holdings('stripe'))).toHaveLength(40);
        // The deadline did cut the first batch: some jobs were left for a retry, not sent late.
        expect(outcomes.filter((o) => o.errorCode === 'not_sent').length).toBeGreaterThan(0);
      } finally {
        await gateway.stop();
        await db.close();
        await db.drop();
      }
    },
  );
});
