/**
 * Issue 10.3: a create after a delete is a new generation and never reuses the first create's
 * idempotency key, so Stripe (which replays a key's first answer for 24 h) makes a new customer
 * instead of answering with the deleted one.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canaryRecord, startTestPartners, type TestPartners } from '../../../src/testing/index.ts';
import { startGateway, writes, type Running } from './helpers.ts';

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

function stripeCreates() {
  return writes(partners, 'stripe').filter((r) => r.method === 'POST' && r.path === '/v1/customers');
}

describe('re-creation after a delete', () => {
  it('Stripe: created, deleted (the name left the record), created again -> Stripe holds a customer', async () => {
    running = await startGateway(partners, [canaryRecord(1)]);
    const { gateway, source } = running;
    await gateway.changed('subj-1');
    await gateway.runUntilIdle();
    const [first] = Object.keys(partners.holdings('stripe'));
    expect(first).toBeDefined();

    // Stripe is sent the name only: without it, Stripe's customer goes.
    const { name: _name, ...nameless } = canaryRecord(1);
    source.put(nameless);
    await gateway.changed('subj-1');
    await gateway.runUntilIdle();
    expect(partners.holdings('stripe')).toEqual({});

    source.put(canaryRecord(1));
    await gateway.changed('subj-1');
    await gateway.runUntilIdle();
    const held = Object.entries(partners.holdings('stripe'));
    expect(held).toHaveLength(1);
    expect(held[0]![0]).not.toBe(first);
    expect(held[0]![1].personal).toEqual({ name: 'CanaryGiven1x7q CanaryFamily1x7q' });
    const creates = stripeCreates();
    expect(creates.map((r) => r.status)).toEqual([200, 200]);
    // The gateway's belief matches: its link names the customer Stripe holds.
    const links = await gateway.database.query<{ partner_ids: string[]; holds: boolean }>(
      `select partner_ids, holds from links where subject_id = 'subj-1' and partner = 'stripe'`,
    );
    expect(links[0]).toMatchObject({ holds: true });
    expect(links[0]!.partner_ids).toContain(held[0]![0]);
  });

  it('every generation gets its own key: three deletes and re-creates leave one live customer each time', async () => {
    running = await startGateway(partners, [canaryRecord(2)]);
    const { gateway, source } = running;
    const { name: _name, ...nameless } = canaryRecord(2);
    const seen = new Set<string>();
    for (let round = 0; round < 3; round++) {
      source.put(canaryRecord(2));
      await gateway.changed('subj-2');
      await gateway.runUntilIdle();
      const held = Object.keys(partners.holdings('stripe'));
      expect(held, `round ${round}`).toHaveLength(1);
      seen.add(held[0]!);
      source.put(nameless);
      await gateway.changed('subj-2');
      await gateway.runUntilIdle();
      expect(partners.holdings('stripe'), `round ${round}`).toEqual({});
    }
    expect(seen.size).toBe(3);
    expect(stripeCreates()).toHaveLength(3);
  });
});
