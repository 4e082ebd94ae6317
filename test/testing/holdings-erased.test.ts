/**
 * The testing kit agrees with the partners (issue 9, item 10): holdingsProblems(..., { erased })
 * recognises an erased subject's records by what each partner was given (pseudonym, partner ids),
 * so a Stripe customer, which holds only a name, is flagged when left behind, and a live customer
 * of the same name is not.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import {
  canaryRecord,
  createTestGateway,
  holdingsProblems,
  MemorySource,
  startTestPartners,
  type TestPartners,
} from '../../src/testing/index.ts';

const policy = loadPolicyFile();
let partners: TestPartners;
let gateway: Gateway | undefined;
beforeAll(async () => {
  partners = await startTestPartners();
});
afterAll(() => partners.stop());
afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
  partners.setFaults({});
  partners.reset();
});

describe('holdingsProblems with erased subjects', () => {
  it('flags a Stripe customer left behind for an erased subject, and not a live one of the same name', async () => {
    const erased = canaryRecord(71);
    // Same name, another person: made-up data sets repeat names.
    const live = { ...canaryRecord(72), name: erased.name };
    gateway = await createTestGateway({
      policy,
      adapters: partners.adapters(),
      source: new MemorySource([erased, live]),
      retry: { retryLimit: 5, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 },
    });
    await gateway.changed(erased.id);
    await gateway.changed(live.id);
    await gateway.runUntilIdle();
    expect(Object.keys(partners.holdings('stripe'))).toHaveLength(2);

    // Stripe answers every erase with 503: the customer stays while the job retries.
    partners.setFaults({ stripe: { errorRate: 1 } });
    await gateway.erase(erased.id, { reason: 'data subject request' });
    await gateway.runUntilIdle();
    expect(Object.keys(partners.holdings('stripe'))).toHaveLength(2);
    const left = holdingsProblems(policy, partners.allHoldings(), { erased: [erased] });
    expect(left).toEqual(['stripe still holds name of an erased subject']);
    // The message names the field, never a value or the partner's id.
    expect(left.join('\n')).not.toContain(erased.name!.given);

    partners.setFaults({});
    await gateway.runUntilIdle({ waitForRetries: true, timeoutMs: 20_000 });
    // The live customer of the same name is still at Stripe, and is not taken for the erased one.
    expect(Object.keys(partners.holdings('stripe'))).toHaveLength(1);
    expect(holdingsProblems(policy, partners.allHoldings(), { erased: [erased] })).toEqual([]);
  });

  it('recognises what the partner was given for an erased subject at every partner keyed by pseudonym or id', async () => {
    const erased = canaryRecord(73);
    gateway = await createTestGateway({ policy, adapters: partners.adapters(), source: new MemorySource([erased]) });
    await gateway.consent.grant(erased.id, 'marketing', { source: 'web-form', evidence: 'form-0073' });
    await gateway.changed(erased.id);
    await gateway.runUntilIdle();
    // Checked without the email: the pseudonym alone finds E-logistik, Stripe and Intercom.
    const { email: _email, ...noEmail } = erased;
    const partnersFlagged = holdingsProblems(policy, partners.allHoldings(), { erased: [noEmail] }).map(
      (p) => p.split(' ')[0],
    );
    expect([...new Set(partnersFlagged)].sort()).toEqual(['elogistik', 'intercom', 'stripe']);
  });
});
