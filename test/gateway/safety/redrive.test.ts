/**
 * Issue 10.5: a dead letter re-driven carries the job's data as it was. A forced resync job that ran
 * out of retries, retried by an operator, still sends (force), so the partner ends up in step.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canaryRecord, startTestPartners, type TestPartners } from '../../../src/testing/index.ts';
import { startGateway, type Running } from './helpers.ts';

let partners: TestPartners;
let running: Running | undefined;
beforeAll(async () => {
  partners = await startTestPartners({ partners: ['stripe', 'elogistik', 'intercom', 'auth0', 'mailchimp'] });
});
afterAll(() => partners.stop());
afterEach(async () => {
  await running?.close();
  running = undefined;
  partners.reset();
});

describe('redrive', () => {
  it('a forced resync job dead-lettered and retried still forces: Stripe holds the customer as the record says', async () => {
    running = await startGateway(partners, [canaryRecord(1)]);
    const { gateway } = running;
    await gateway.changed('subj-1');
    await gateway.runUntilIdle();
    const [id] = Object.keys(partners.holdings('stripe'));
    await editByHand(id!);

    partners.setFaults({ stripe: { errorRate: 1, retryAfterSeconds: 0 } });
    await gateway.resync({ partner: 'stripe', force: true, operator: 'ops-kim' });
    await gateway.runUntilIdle({ waitForRetries: true, timeoutMs: 20_000 });
    const dead = await gateway.deadLetters('stripe');
    expect(dead.map((d) => d.subjectId)).toEqual(['subj-1']);

    partners.setFaults({});
    expect(await gateway.redrive('stripe', undefined, { operator: 'ops-kim' })).toBe(1);
    await gateway.runUntilIdle({ waitForRetries: true, timeoutMs: 20_000 });
    expect(await gateway.deadLetters('stripe')).toEqual([]);
    expect(partners.holdings('stripe')[id!]?.personal).toEqual({ name: 'CanaryGiven1x7q CanaryFamily1x7q' });
  });
});

async function editByHand(id: string): Promise<void> {
  // Someone edits the customer in Stripe's dashboard: the gateway's digest still says "in step".
  await partners.emulator('stripe').handle({
    method: 'POST',
    path: `/v1/customers/${id}`,
    query: new URLSearchParams(),
    headers: { authorization: 'Bearer sk_test_sandbox', 'content-type': 'application/x-www-form-urlencoded' },
    body: Buffer.from('name=Edited+by+hand'),
  });
}
