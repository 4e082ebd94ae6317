import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import {
  assertHoldingsAllowed,
  assertNoCanaries,
  canaryRecord,
  findCanaries,
  holdingsProblems,
  MemorySource,
  startTestPartners,
  type TestPartners,
} from '../../src/testing/index.ts';

const policy = loadPolicyFile();
const secrets = { pseudonymKey: 'testing-helpers-key-0123456789' };

/** Personal field names each partner holds, sorted, from the helper's holdings. */
function heldFields(partners: TestPartners, partner: string): string[][] {
  return Object.values(partners.holdings(partner)).map((h) => Object.keys(h.personal).sort());
}

describe('startTestPartners', () => {
  let partners: TestPartners;
  let gateway: Gateway | undefined;
  beforeAll(async () => {
    partners = await startTestPartners();
  });
  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
    partners.reset();
  });
  afterAll(() => partners.stop());

  async function gatewayWith(source: MemorySource): Promise<Gateway> {
    gateway = await createGateway({
      policy,
      database: { memory: true },
      adapters: partners.adapters(),
      source,
      secrets,
      logger: pino({ level: 'silent' }),
    });
    return gateway;
  }

  it('serves every shipped partner and gives the real adapters pointed at it', () => {
    expect([...partners.partners].sort()).toEqual([...policy.partnerNames].sort());
    const adapters = partners.adapters();
    expect(adapters.map((a) => a.partner)).toEqual(partners.partners);
    for (const partner of partners.partners) expect(partners.urls[partner]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('a synced record leaves exactly the allowed fields at each partner', async () => {
    const record = canaryRecord(1);
    const gw = await gatewayWith(new MemorySource([record]));
    await gw.changed('subj-1');
    await gw.runUntilIdle();

    expect(heldFields(partners, 'elogistik')).toEqual([
      ['address.city', 'address.country', 'address.postalCode', 'address.street', 'email', 'name', 'phone'],
    ]);
    expect(heldFields(partners, 'stripe')).toEqual([['name']]);
    expect(heldFields(partners, 'intercom')).toEqual([['email', 'name', 'phone']]);
    expect(heldFields(partners, 'auth0')).toHaveLength(1);
    expect(heldFields(partners, 'auth0')[0]).toContain('email');
    expect(heldFields(partners, 'mailchimp')).toEqual([]); // no marketing consent yet
    expect(heldFields(partners, 'twilio')).toEqual([]); // an action partner: nothing kept in step
    expect(heldFields(partners, 'resin')).toEqual([]); // sent nothing
    expect(partners.requests('stripe').length).toBeGreaterThan(0);

    expect(holdingsProblems(policy, partners.allHoldings())).toEqual([]);
    expect(() => assertHoldingsAllowed(policy, partners.allHoldings())).not.toThrow();
    // The partners do hold the subject's values; the transfer log holds none of them.
    expect(findCanaries(JSON.stringify(partners.allHoldings()), [record]).map((hit) => hit.field)).toContain('email');
    const log = JSON.stringify(await gw.audit.list());
    expect(log).toContain('stripe');
    expect(() => assertNoCanaries(log, [record], 'the transfer log')).not.toThrow();
  });

  it('consent, then erasure: the holdings follow, and an erased subject is found nowhere', async () => {
    const record = canaryRecord(2);
    const gw = await gatewayWith(new MemorySource([record]));
    await gw.consent.grant('subj-2', 'marketing', { source: 'web-form', evidence: 'form-1' });
    await gw.changed('subj-2');
    await gw.runUntilIdle();
    expect(heldFields(partners, 'mailchimp')).toEqual([['email', 'name.family', 'name.given']]);
    // Before erasure the check, told the subject is erased, finds it at every partner it was sent to.
    const early = holdingsProblems(policy, partners.allHoldings(), { erased: [record] });
    expect(early).toContain('mailchimp still holds email of an erased subject');
    expect(early.join('\n')).not.toContain(record.email!);

    await gw.erase('subj-2', { reason: 'erasure request' });
    await gw.runUntilIdle();
    for (const partner of partners.partners) expect(partners.holdings(partner), partner).toEqual({});
    expect(holdingsProblems(policy, partners.allHoldings(), { erased: [record] })).toEqual([]);
  });

  it('adapter overrides are laid over the sandbox options, and unknown partners are refused', async () => {
    expect(() => partners.adapters({ stripee: {} })).toThrow(/no partner 'stripee' is mocked/);
    expect(() => partners.holdings('nobody')).toThrow(/mocked: elogistik, mailchimp/);
    // Auth0 without createUsers refuses a subject it has no user for, as production would.
    const auth0 = partners.adapter('auth0', { createUsers: false });
    await expect(
      auth0.upsert!(
        { ref: { pseudonym: 'p1', partnerIds: [] }, payload: { email: 'x@example.test' } },
        { correlationId: 'c', idempotencyKey: 'k' },
      ),
    ).rejects.toMatchObject({ kind: 'permanent' });
  });

  it('faults reach the adapters as retryable failures', async () => {
    partners.setFaults({ stripe: { errorRate: 1 } });
    try {
      const stripe = partners.adapter('stripe');
      await expect(
        stripe.upsert!(
          { ref: { pseudonym: 'p1', partnerIds: [] }, payload: { name: { given: 'A', family: 'B' } } },
          { correlationId: 'c', idempotencyKey: 'k' },
        ),
      ).rejects.toMatchObject({ kind: 'retryable' });
      expect(partners.requests('stripe').some((entry) => entry.fault === 'error')).toBe(true);
    } finally {
      partners.setFaults({});
    }
  });
});

describe('startTestPartners with a subset', () => {
  it('serves only the partners named, and refuses an unknown name', async () => {
    const some = await startTestPartners({ partners: ['stripe', 'intercom'] });
    try {
      expect(some.partners).toEqual(['stripe', 'intercom']);
      expect(some.adapters().map((a) => a.partner)).toEqual(['stripe', 'intercom']);
    } finally {
      await some.stop();
    }
    await expect(startTestPartners({ partners: ['strype'] })).rejects.toThrow(/unknown partner strype/);
  });
});
