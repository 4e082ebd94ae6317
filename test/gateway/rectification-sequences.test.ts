/**
 * Issue 12, item 1: rectification over long sequences of changes, at every partner. The email is
 * changed twice, then back; the name and phone change between. After every step each partner holds
 * the record as it is now (its allowed fields), one entry per subject, and nothing is dead-lettered:
 * Mailchimp's member is re-keyed by each address change, and the gateway always writes to its current
 * key (the link says which one is current, not a position in a list).
 */
import { describe, expect, it } from 'vitest';
import type { MasterRecordInput } from '../../src/record.ts';
import { canaryRecord } from '../../src/testing/index.ts';
import { webConsent, writtenWithdrawal } from '../lifecycle/helpers.ts';
import { realGatewaySuite, type RealGateway } from '../support/real-gateway.ts';

const suite = realGatewaySuite();
let running: RealGateway | undefined;

/** Which partners get the email, the phone and the name, under the default policy. */
const EMAIL = ['elogistik', 'intercom', 'auth0', 'mailchimp'];

describe('a record changed again and again', () => {
  it('is held as it is now at every partner after each step, and nothing dead-letters', async () => {
    const base = canaryRecord(1);
    const steps: MasterRecordInput[] = [
      base,
      { ...base, email: 'canary-1-first-x7q@example.test' },
      {
        ...base,
        email: 'canary-1-first-x7q@example.test',
        name: { given: 'CanaryRenamed1x7q', family: 'CanaryFamily1x7q' },
      },
      { ...base, email: 'canary-1-second-x7q@example.test', phone: '+46709990001' },
      { ...base, email: 'canary-1-second-x7q@example.test', phone: '+46709990002' },
      base,
    ];
    running = await suite.start({ records: [base] });
    const { gateway, source } = running;
    await gateway.consent.grant(base.id, 'marketing', webConsent);
    for (const [i, record] of steps.entries()) {
      source.put(record);
      await gateway.changed(record.id);
      await gateway.runUntilIdle({ waitForRetries: true });
      const at = `step ${i}`;
      for (const partner of EMAIL) {
        const held = Object.values(suite.partners.holdings(partner));
        expect(held, `${at} ${partner}`).toHaveLength(1);
        expect(JSON.stringify(held[0]!.personal), `${at} ${partner}`).toContain(record.email);
        for (const other of steps.map((s) => s.email).filter((e) => e !== record.email))
          expect(JSON.stringify(held[0]!.personal), `${at} ${partner} keeps ${other}`).not.toContain(other);
      }
      const stripe = Object.values(suite.partners.holdings('stripe'));
      expect(stripe, at).toHaveLength(1);
      expect(JSON.stringify(stripe[0]!.personal), at).toContain(record.name!.given);
      const intercom = JSON.stringify(Object.values(suite.partners.holdings('intercom'))[0]!.personal);
      expect(intercom, at).toContain(record.phone);
      for (const partner of suite.partners.partners)
        expect(await gateway.deadLetters(partner), `${at} ${partner}`).toEqual([]);
    }
    // Every write after the first went to the member's current key: no request was refused.
    const refused = suite.partners.requests('mailchimp').filter((r) => (r.status ?? 0) >= 400);
    expect(refused).toEqual([]);
  });

  it('keeps an unsubscribed Mailchimp member in step with the record, and unsubscribed', async () => {
    const base = canaryRecord(2);
    running = await suite.start({ records: [base] });
    const { gateway, source } = running;
    await gateway.consent.grant(base.id, 'marketing', webConsent);
    await gateway.changed(base.id);
    await gateway.runUntilIdle();
    await gateway.consent.withdraw(base.id, 'marketing', writtenWithdrawal);
    await gateway.runUntilIdle();
    const status = () => JSON.stringify(Object.values(suite.partners.holdings('mailchimp'))[0]!.meta);
    expect(status()).toContain('unsubscribed');

    const changed = {
      ...base,
      email: 'canary-2-moved-x7q@example.test',
      name: { given: 'CanaryRenamed2x7q', family: 'CanaryFamily2x7q' },
    };
    source.put(changed);
    await gateway.changed(base.id);
    await gateway.runUntilIdle({ waitForRetries: true });
    const held = Object.values(suite.partners.holdings('mailchimp'));
    expect(held).toHaveLength(1);
    const personal = JSON.stringify(held[0]!.personal);
    expect(personal).toContain(changed.email);
    expect(personal).toContain('CanaryRenamed2x7q');
    expect(personal).not.toContain(base.email);
    expect(personal).not.toContain(base.name!.given);
    expect(status()).toContain('unsubscribed');
    expect(status()).not.toContain('"subscribed"');
    expect(await gateway.deadLetters('mailchimp')).toEqual([]);
  });
});
