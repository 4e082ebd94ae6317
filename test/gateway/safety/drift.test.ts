/**
 * Issue 10.4 (Stripe): a customer deleted by hand in Stripe's dashboard is not a permanent dead
 * letter. The next update finds it gone (404) and creates it again, so Stripe holds the subject
 * as the record says; resync --force repairs it the same way.
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

async function deleteByHand(id: string): Promise<void> {
  const answer = await partners.emulator('stripe').handle({
    method: 'DELETE',
    path: `/v1/customers/${id}`,
    query: new URLSearchParams(),
    headers: { authorization: 'Bearer sk_test_sandbox' },
    body: Buffer.alloc(0),
  });
  expect(answer.status).toBe(200);
}

describe('a customer lost at Stripe', () => {
  it('the next change creates it again: Stripe holds the subject, no dead letter', async () => {
    running = await startGateway(partners, [canaryRecord(1)]);
    const { gateway, source } = running;
    await gateway.changed('subj-1');
    await gateway.runUntilIdle();
    const [lost] = Object.keys(partners.holdings('stripe'));
    await deleteByHand(lost!);

    source.put(canaryRecord(1, { name: { given: 'CanaryRenamed1x7q', family: 'CanaryFamily1x7q' } }));
    await gateway.changed('subj-1');
    await gateway.runUntilIdle({ waitForRetries: true, timeoutMs: 20_000 });
    expect(await gateway.deadLetters('stripe')).toEqual([]);
    const held = Object.entries(partners.holdings('stripe'));
    expect(held.map(([, h]) => h.personal)).toEqual([{ name: 'CanaryRenamed1x7q CanaryFamily1x7q' }]);
    expect(held[0]![0]).not.toBe(lost);
    // The repair is not silent: the transfer log and the log say so.
    const repairs = (await gateway.audit.list({})).filter((r) => r.operation === 'drift_repaired');
    expect(repairs.map((r) => [r.subjectId, r.partner])).toEqual([['subj-1', 'stripe']]);
    expect(running.logText()).toMatch(/drift repaired/);
    expect(running.logText()).not.toContain('CanaryRenamed1x7q');

    // And an erasure afterwards reaches the new customer.
    await gateway.erase('subj-1', { reason: 'erasure request' });
    await gateway.runUntilIdle();
    expect(partners.holdings('stripe')).toEqual({});
  });

  it('resync --force repairs it when nothing changed in the record', async () => {
    running = await startGateway(partners, [canaryRecord(2)]);
    const { gateway } = running;
    await gateway.changed('subj-2');
    await gateway.runUntilIdle();
    await deleteByHand(Object.keys(partners.holdings('stripe'))[0]!);
    await gateway.resync({ partner: 'stripe', force: true });
    await gateway.runUntilIdle({ waitForRetries: true, timeoutMs: 20_000 });
    expect(await gateway.deadLetters('stripe')).toEqual([]);
    expect(Object.values(partners.holdings('stripe')).map((h) => h.personal)).toEqual([
      { name: 'CanaryGiven2x7q CanaryFamily2x7q' },
    ]);
  });

  it('drift detection finds it (the partner asked, nothing of what it holds kept) and repairs it', async () => {
    running = await startGateway(partners, [canaryRecord(3), canaryRecord(4)]);
    const { gateway } = running;
    for (const id of ['subj-3', 'subj-4']) await gateway.changed(id);
    await gateway.runUntilIdle();
    expect(await gateway.drift({ sample: 50 })).toEqual({ checked: 8, findings: [] });

    const customers = Object.entries(partners.holdings('stripe'));
    const [lost] = customers.find(([, h]) => JSON.stringify(h.personal).includes('CanaryGiven3x7q'))!;
    await deleteByHand(lost);
    const found = await gateway.drift({ subjects: ['subj-3', 'subj-4'] });
    expect(found).toEqual({
      checked: 8,
      findings: [
        { subjectId: 'subj-3', partner: 'stripe', believed: 'held', actual: 'nothing', repairEnqueued: false },
      ],
    });
    expect(JSON.stringify(found)).not.toContain('CanaryGiven');

    const repaired = await gateway.drift({
      subjects: ['subj-3'],
      partner: 'stripe',
      repair: true,
      operator: 'ops-kim',
    });
    expect(repaired.findings.map((f) => f.repairEnqueued)).toEqual([true]);
    await gateway.runUntilIdle();
    expect(Object.values(partners.holdings('stripe')).map((h) => h.personal)).toContainEqual({
      name: 'CanaryGiven3x7q CanaryFamily3x7q',
    });
    expect((await gateway.drift({ subjects: ['subj-3'] })).findings).toEqual([]);
    const log = await gateway.audit.list({});
    expect(log.filter((r) => r.operation === 'drift_repaired').map((r) => r.subjectId)).toEqual(['subj-3']);
    expect(log.filter((r) => r.operation === 'drift_check' && r.operator === 'ops-kim')).toHaveLength(1);
  });
});
