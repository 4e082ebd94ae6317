import nock from 'nock';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/gateway.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import {
  assertHoldingsAllowed,
  canaryRecord,
  MemorySource,
  mockPartnersWithNock,
  type MockPartners,
} from '../../src/testing/index.ts';

const policy = loadPolicyFile();

/** Production-style hosts, as a host's own configuration would name them. */
const baseUrls = {
  elogistik: 'https://api.elogistik.example',
  mailchimp: 'https://us1.api.mailchimp.com',
  stripe: 'https://api.stripe.com',
  intercom: 'https://api.intercom.io',
  twilio: 'https://api.twilio.com',
  auth0: 'https://tenant.eu.auth0.example',
  resin: 'https://api.balena-cloud.com',
};

describe('mockPartnersWithNock', () => {
  let partners: MockPartners;
  let unmatched = 0;
  const countUnmatched = (): void => void unmatched++;
  beforeAll(() => {
    nock.disableNetConnect();
    nock.emitter.on('no match', countUnmatched);
  });
  beforeEach(async () => {
    unmatched = 0;
    partners = await mockPartnersWithNock({ baseUrls });
  });
  afterEach(async () => {
    await partners.stop();
    expect(nock.pendingMocks()).toEqual([]);
    nock.cleanAll();
  });
  afterAll(() => {
    nock.emitter.removeListener('no match', countUnmatched);
    nock.enableNetConnect();
  });

  it('answers every partner on its real host from the emulators, with net connect disabled', async () => {
    const record = canaryRecord(1);
    const gateway = await createGateway({
      policy,
      database: { memory: true },
      adapters: partners.adapters(),
      source: new MemorySource([record]),
      secrets: { pseudonymKey: 'testing-helpers-key-0123456789' },
      logger: pino({ level: 'silent' }),
    });
    try {
      await gateway.consent.grant('subj-1', 'marketing', { source: 'web-form', evidence: 'form-1' });
      await gateway.changed('subj-1');
      await gateway.runUntilIdle();
      const { partnerId } = await gateway.call('subj-1', 'alarm', { twiml: '<Response><Say>Alarm</Say></Response>' });
      expect(partnerId).toMatch(/^CA/);

      for (const partner of ['elogistik', 'mailchimp', 'stripe', 'intercom', 'auth0', 'twilio']) {
        expect(Object.keys(partners.holdings(partner)), partner).toHaveLength(1);
        expect(partners.requests(partner).length, partner).toBeGreaterThan(0);
      }
      expect(partners.holdings('resin')).toEqual({});
      assertHoldingsAllowed(policy, partners.allHoldings());
      expect(unmatched).toBe(0);

      await gateway.erase('subj-1', { reason: 'erasure request' });
      await gateway.runUntilIdle();
      for (const partner of partners.partners) expect(partners.holdings(partner), partner).toEqual({});
    } finally {
      await gateway.stop();
    }
  });

  it('an unmocked host still fails: only the partners named are intercepted', async () => {
    await partners.stop();
    nock.cleanAll();
    partners = await mockPartnersWithNock({ baseUrls: { stripe: baseUrls.stripe } });
    expect(partners.partners).toEqual(['stripe']);
    await expect(fetch('https://api.intercom.io/contacts')).rejects.toMatchObject({
      cause: { name: 'NetConnectNotAllowedError' },
    });
    const stripe = partners.adapter('stripe');
    await stripe.upsert!(
      { ref: { pseudonym: 'p1', partnerIds: [] }, payload: { name: { given: 'A', family: 'B' } } },
      { correlationId: 'c', idempotencyKey: 'k' },
    );
    expect(Object.values(partners.holdings('stripe')).map((h) => h.personal)).toEqual([{ name: 'A B' }]);
  });

  it('injected faults and stop(): a 503 is retryable, and after stop nothing answers', async () => {
    partners.setFaults({ intercom: { errorRate: 1 } });
    const intercom = partners.adapter('intercom');
    const ctx = { correlationId: 'c', idempotencyKey: 'k' };
    const input = { ref: { pseudonym: 'p1', partnerIds: [] }, payload: { email: 'a@example.test' } };
    await expect(intercom.upsert!(input, ctx)).rejects.toMatchObject({ kind: 'retryable', status: 503 });
    expect(partners.requests('intercom').map((entry) => entry.fault)).toContain('error');
    partners.setFaults({ intercom: { dropRate: 1 } });
    await expect(intercom.upsert!(input, ctx)).rejects.toMatchObject({ kind: 'retryable' });
    expect(partners.requests('intercom').map((entry) => entry.fault)).toContain('drop');
    partners.setFaults({});
    await partners.stop();
    await expect(intercom.upsert!(input, ctx)).rejects.toMatchObject({ kind: 'retryable' });
    expect(partners.requests('intercom').filter((entry) => entry.fault === null)).toEqual([]);
  });
});
