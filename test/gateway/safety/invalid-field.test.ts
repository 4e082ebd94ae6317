/**
 * Issue 10.8: an invalid field blocks only the partners that are sent it. An invalid email blocks
 * Intercom, E-logistik and Mailchimp (sent the email), never Stripe (sent the name only); the dead
 * letters and the access report name the field, never its value.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canaryRecord, startTestPartners, type TestPartners } from '../../../src/testing/index.ts';
import { startGateway, writes, type Running } from './helpers.ts';

const BAD_EMAIL = 'not-an-address-CanaryMail9x7q';

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

describe('an invalid field', () => {
  it('an invalid email: Stripe holds the name, the partners sent the email got nothing, dead letters name the field', async () => {
    running = await startGateway(partners, [canaryRecord(1, { email: BAD_EMAIL })]);
    const { gateway } = running;
    await gateway.consent.grant('subj-1', 'marketing', { source: 'web-form', evidence: 'form-1' });
    await gateway.changed('subj-1');
    await gateway.runUntilIdle({ waitForRetries: true, timeoutMs: 20_000 });

    expect(Object.values(partners.holdings('stripe')).map((h) => h.personal)).toEqual([
      { name: 'CanaryGiven1x7q CanaryFamily1x7q' },
    ]);
    for (const p of ['mailchimp', 'intercom', 'elogistik']) {
      expect(partners.holdings(p), p).toEqual({});
      expect(writes(partners, p), p).toEqual([]);
    }
    const dead = await gateway.deadLetters();
    expect(dead.map((d) => d.partner).sort()).toEqual(['auth0', 'elogistik', 'intercom', 'mailchimp']);
    for (const d of dead) {
      expect(d.error).toBe('invalid master record for subject subj-1: email: must be an email address');
    }
    const report = await gateway.access('subj-1');
    const text = JSON.stringify(report);
    expect(text).toContain('email: must be an email address');
    expect(text).not.toContain(BAD_EMAIL);
    expect(running.logText()).not.toContain(BAD_EMAIL);
  });

  it('a resync dry run counts it as the workers do: Stripe a create, the email partners invalid', async () => {
    running = await startGateway(partners, [canaryRecord(2, { email: BAD_EMAIL })]);
    const summary = await running.gateway.resync({ dryRun: true });
    expect(summary.invalid).toBe(1);
    expect(summary.perPartner.stripe).toMatchObject({ creates: 1, invalid: 0 });
    expect(summary.perPartner.intercom).toMatchObject({ creates: 0, invalid: 1 });
    expect(summary.perPartner.elogistik).toMatchObject({ creates: 0, invalid: 1 });
  });

  it('an invalid field no partner may skip (the subscription) still blocks every partner', async () => {
    const bad = { ...canaryRecord(3), subscription: { start: 'soon' } };
    running = await startGateway(partners, [bad]);
    const { gateway } = running;
    await gateway.changed('subj-3');
    await gateway.runUntilIdle({ waitForRetries: true, timeoutMs: 20_000 });
    expect(partners.holdings('stripe')).toEqual({});
    const dead = await gateway.deadLetters();
    expect(dead.map((d) => d.partner).sort()).toEqual(['auth0', 'elogistik', 'intercom', 'mailchimp', 'stripe']);
    for (const d of dead) expect(d.error).toMatch(/subscription\.start/);
  });
});
