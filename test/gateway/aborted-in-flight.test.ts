/**
 * A call the gateway itself cuts off after its request has left (the jobs' claim is lost: pg-boss
 * expired them, or its heartbeat found the claim gone, and aborted the batch's signal) may have been
 * acted on: the log must say "unknown", not a plain failure, and the retry must not leave the partner
 * holding the subject twice. Real Stripe adapter against its emulator, which here creates the
 * customer and then never answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/gateway.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import { canaryRecords, MemorySource, startTestPartners, type TestPartners } from '../../src/testing/index.ts';
import { testDatabase } from '../support/database.ts';
import { testSecrets } from '../support/harness.ts';
import { capturedLogger } from '../support/log-capture.ts';

const policy = loadPolicyFile();
const records = canaryRecords(1);
let partners: TestPartners;
beforeAll(async () => {
  partners = await startTestPartners({ partners: ['stripe'] });
});
afterAll(() => partners.stop());

describe('a call aborted in flight', () => {
  it(
    'is logged unknown (aborted_in_flight), and its retry leaves one customer at the partner',
    { timeout: 60_000 },
    async () => {
      const db = await testDatabase();
      const gateway = await createGateway({
        policy,
        database: db,
        adapters: partners.adapters(),
        source: new MemorySource(records),
        secrets: testSecrets,
        logger: capturedLogger().logger,
        limits: { stripe: { perSecond: undefined } },
        // The batch's signal fires a third of the expiry before it: 2 s in, well inside the adapter's
        // own 10 s deadline, so the abort is the gateway's and not a timeout.
        retry: { expireInSeconds: 3, retryDelaySeconds: 1, retryDelayMaxSeconds: 1, superviseIntervalSeconds: 1 },
      });
      try {
        // The emulator creates the customer, then holds the answer back.
        partners.setFaults({ stripe: { timeoutRate: 1, afterHandling: true } });
        await gateway.changed('subj-1');
        const firstOutcome = async () =>
          (await gateway.audit.list({ partner: 'stripe' })).find((r) => r.kind === 'outcome');
        const started = Date.now();
        while (!(await firstOutcome()) && Date.now() - started < 20_000)
          await gateway.runUntilIdle({ timeoutMs: 1_000 }).catch(() => undefined);
        expect(await firstOutcome()).toMatchObject({ outcome: 'unknown', errorCode: 'aborted_in_flight' });
        expect(Object.keys(partners.holdings('stripe'))).toHaveLength(1);

        partners.setFaults({});
        await gateway.runUntilIdle({ waitForRetries: true, timeoutMs: 30_000 });
        const outcomes = (await gateway.audit.list({ partner: 'stripe' })).filter((r) => r.kind === 'outcome');
        expect(outcomes.map((o) => o.outcome)).toEqual(['unknown', 'ok']);
        expect(Object.keys(partners.holdings('stripe'))).toHaveLength(1);
      } finally {
        partners.setFaults({});
        partners.reset();
        await gateway.stop();
        await db.close();
        await db.drop();
      }
    },
  );
});
