/**
 * What the gateway's observer hears of jobs (the ops server's partner_gateway_jobs_total and the CLI's
 * progress bars both count from it): a failure that leaves a retry is `failed`, the failure on the
 * last attempt is `deadletter`, so a dead letter is never missed nor counted as waiting for a retry.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobTally } from '../../src/cli/job-tally.ts';
import { createGateway, type Gateway } from '../../src/index.ts';
import { canaryRecords, MemorySource, startTestPartners, type TestPartners } from '../../src/testing/index.ts';

const records = canaryRecords(3);
let partners: TestPartners;
let gateway: Gateway;
const settled: { partner: string; status: string }[] = [];
const tally = jobTally();

beforeAll(async () => {
  partners = await startTestPartners({ partners: ['elogistik', 'stripe'] });
  gateway = await createGateway({
    database: { memory: true },
    adapters: partners.adapters(),
    source: new MemorySource(records),
    secrets: { pseudonymKey: 'job-observer-test-key-0123456789' },
    // One retry after a second: every stripe job fails twice, the second time for good.
    retry: { retryLimit: 1, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 },
    observer: {
      jobSettled: (partner, status) => {
        settled.push({ partner, status });
        tally.observer.jobSettled!(partner, status);
      },
    },
    logger: pino({ level: 'silent' }),
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await partners?.stop();
});

describe('job observer', () => {
  it('reports a failure with a retry left as failed, and the last failed attempt as a dead letter', async () => {
    partners.setFaults({ stripe: { errorRate: 1 } });
    await gateway.resync();
    await gateway.runUntilIdle({ timeoutMs: 30_000, waitForRetries: true });
    const of = (partner: string, status: string) =>
      settled.filter((s) => s.partner === partner && s.status === status).length;
    expect(of('stripe', 'failed')).toBe(3);
    expect(of('stripe', 'deadletter')).toBe(3);
    expect(of('stripe', 'completed')).toBe(0);
    expect(of('elogistik', 'completed')).toBe(3);
    // What the observer heard matches the store: three dead letters at stripe.
    expect(await gateway.deadLetters('stripe')).toHaveLength(3);
    expect([tally.completed('stripe'), tally.dead('stripe')]).toEqual([0, 3]);
    expect([tally.completed('elogistik'), tally.dead('elogistik')]).toEqual([3, 0]);
  });
});
