/**
 * The "Writing your own adapter" example (examples/custom-adapter): its policy entry, its emulator
 * served by partner-gateway/testing beside a shipped partner, and its adapter run by a real gateway.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createRewardsAdapter, rewardsPartner } from '../../examples/custom-adapter/index.ts';
import { PartnerError, parsePolicy, renderNotice, type Policy } from '../../src/index.ts';
import {
  MemorySource,
  assertHoldingsAllowed,
  assertNoCanaries,
  canaryRecord,
  createTestGateway,
  startTestPartners,
  type TestPartners,
} from '../../src/testing/index.ts';

/** The shipped policy with the example's entry merged in, as a host would edit its policy.yaml. */
function policyWithRewards(): Policy {
  const base = parse(readFileSync(new URL('../../config/policy.yaml', import.meta.url), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  const entry = parse(
    readFileSync(new URL('../../examples/custom-adapter/policy-entry.yaml', import.meta.url), 'utf8'),
  ) as Record<string, Record<string, unknown>>;
  const merged = {
    ...base,
    purposes: { ...base.purposes, ...entry.purposes },
    partners: { ...base.partners, ...entry.partners },
  };
  return parsePolicy(stringify(merged), 'policy.yaml + examples/custom-adapter/policy-entry.yaml');
}

describe('a partner of your own: Acme Rewards', () => {
  const policy = policyWithRewards();
  let partners: TestPartners;
  beforeAll(async () => {
    partners = await startTestPartners({ partners: ['stripe'], modules: [rewardsPartner] });
  });
  afterEach(() => partners.reset());
  afterAll(() => partners.stop());

  it('the policy entry sends name and email only, and the notice names the partner', () => {
    expect(policy.allowedFields('rewards')).toEqual(['name.given', 'name.family', 'email']);
    expect(renderNotice(policy, { lang: 'en', format: 'md' })).toContain('Acme Rewards');
  });

  it('a gateway keeps the partner in step and erases there, sending nothing outside the policy', async () => {
    const customer = canaryRecord(1);
    const gateway = await createTestGateway({
      policy,
      adapters: partners.adapters(),
      source: new MemorySource([customer]),
    });
    try {
      await gateway.changed(customer.id);
      await gateway.runUntilIdle();
      const held = Object.values(partners.holdings('rewards'));
      expect(held).toHaveLength(1);
      expect(Object.keys(held[0]!.personal).sort()).toEqual(['email', 'name.family', 'name.given']);
      assertHoldingsAllowed(policy, partners.allHoldings());
      // Keyed by the pseudonym: the customer id never reaches the partner.
      expect(Object.keys(partners.holdings('rewards'))[0]).not.toContain(customer.id);
      expect(partners.requests('rewards').map((r) => `${r.method} ${r.status}`)).toEqual(['PUT 201']);

      await gateway.erase(customer.id, { reason: 'erasure request' });
      await gateway.runUntilIdle();
      expect(partners.holdings('rewards')).toEqual({});
      assertNoCanaries(JSON.stringify(await gateway.audit.list()), [customer], 'the transfer log');
    } finally {
      await gateway.stop();
    }
  });

  it('failures are PartnerErrors with a kind and a code, never a personal value', async () => {
    const customer = canaryRecord(2);
    const ref = { pseudonym: 'pseudonym-2', partnerIds: [] };
    const ctx = { correlationId: 'c-1', idempotencyKey: 'k-1' };
    const payload = { name: customer.name!, email: customer.email! };

    const wrongKey = createRewardsAdapter({ apiKey: 'not-the-key', baseUrl: partners.urls.rewards! });
    const refused = await wrongKey.upsert!({ payload, ref }, ctx).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PartnerError);
    expect(refused).toMatchObject({ kind: 'permanent', status: 401, code: 'unauthorized' });

    partners.setFaults({ rewards: { errorRate: 1 } });
    const adapter = partners.adapter('rewards');
    const unavailable = await adapter.upsert!({ payload, ref }, ctx).catch((e: unknown) => e);
    expect(unavailable).toMatchObject({ kind: 'retryable', status: 503 });
    assertNoCanaries(String((unavailable as Error).message), [customer], 'the error message');
    partners.setFaults({});

    // An answer of the wrong shape is refused, not read as holdings.
    const odd = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"email":5}'),
    );
    await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(odd.address() as AddressInfo).port}/`;
      const answer = await createRewardsAdapter({ apiKey: 'k', baseUrl: url }).fetch!(ref, ctx).catch(
        (e: unknown) => e,
      );
      expect(answer).toMatchObject({ kind: 'permanent', code: 'unexpected_answer' });
    } finally {
      odd.close();
    }

    // Erasing what is not there is success.
    expect(await adapter.erase(ref, 'delete', ctx)).toEqual({ removed: ['pseudonym-2'] });
    expect(() => createRewardsAdapter({ apiKey: 'k', baseUrl: 'http://rewards.example' })).toThrow(/https/);
  });

  it('the module reads its variables as the shipped partners do: one wording, the variable named, never its value', () => {
    expect(() => rewardsPartner.optionsFromEnv({ REWARDS_BASE_URL: 'https://rewards.example' })).toThrow(
      'rewards: environment variable REWARDS_API_KEY is missing',
    );
    const plain = (() => {
      try {
        rewardsPartner.optionsFromEnv({
          REWARDS_API_KEY: 'secret-key-value',
          REWARDS_BASE_URL: 'http://rewards.example',
        });
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(plain).toMatch(/^rewards: environment variable REWARDS_BASE_URL is invalid/);
    expect(plain).not.toContain('secret-key-value');
    expect(rewardsPartner.environment.map((v) => v.name)).toEqual(['REWARDS_API_KEY', 'REWARDS_BASE_URL']);
  });
});
