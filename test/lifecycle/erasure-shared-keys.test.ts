/**
 * Issue 9, class 7: two customers with one email address share one Mailchimp member (keyed by the
 * md5 of the email) and one Auth0 login (looked up by email). Erasing one must not delete what the
 * other still claims, and neither the erasure status nor the access report may pass the other's data
 * off as this subject's: the conflict is shown for an operator to settle.
 */
import { describe, expect, it } from 'vitest';
import { canaryRecord } from '../../src/testing/index.ts';
import { realGatewaySuite, type RealGateway } from '../support/real-gateway.ts';
import { webConsent } from './helpers.ts';

const suite = realGatewaySuite();
let running: RealGateway | undefined;

const held = (partner: string) => JSON.stringify(suite.partners.holdings(partner));

describe('two subjects with one email address', () => {
  it('erasing one leaves what the other claims, shows the conflict, and the operator settles it', async () => {
    const a = canaryRecord(1);
    const b = canaryRecord(2, { email: a.email });
    running = await suite.start({ records: [a, b] });
    const { gateway } = running;
    for (const id of [a.id, b.id]) await gateway.consent.grant(id, 'marketing', webConsent);
    for (const id of [a.id, b.id]) await gateway.changed(id);
    await gateway.runUntilIdle();
    // One member and one login for the two of them.
    expect(Object.keys(suite.partners.holdings('mailchimp'))).toHaveLength(1);
    expect(Object.keys(suite.partners.holdings('auth0'))).toHaveLength(1);

    await gateway.erase(a.id, { reason: 'erasure request' });
    await gateway.runUntilIdle();
    // b is still a customer: its member and its login stay; a's records elsewhere are gone.
    expect(Object.keys(suite.partners.holdings('mailchimp'))).toHaveLength(1);
    expect(Object.keys(suite.partners.holdings('auth0'))).toHaveLength(1);
    expect(held('stripe')).not.toContain('CanaryGiven1x7q');
    expect(held('stripe')).toContain('CanaryGiven2x7q');
    expect(held('elogistik')).not.toContain('CanaryGiven1x7q');

    const status = await gateway.erasureStatus(a.id);
    expect(status.complete).toBe(false);
    const conflicted = status.partners.filter((p) => p.state === 'conflict');
    expect(conflicted.map((p) => p.partner).sort()).toEqual(['auth0', 'mailchimp']);
    for (const p of conflicted) expect(p.conflictSince).toBeInstanceOf(Date);
    expect(running.erased).toEqual([]);

    // b's access report does not show the shared records as b's alone either way: they are flagged.
    const report = await gateway.access(b.id, { live: true });
    for (const partner of ['mailchimp', 'auth0']) {
      const p = report.partners.find((x) => x.partner === partner)!;
      expect(p.sharedRecord, partner).toBe(false); // a's link no longer claims them: they are b's
    }

    // The operator checks: what is left at Mailchimp and Auth0 is b's alone.
    for (const partner of ['mailchimp', 'auth0'])
      await gateway.resolveErasure(a.id, partner, { resolution: 'kept-for-other-subject', operator: 'ops-kim' });
    expect((await gateway.erasureStatus(a.id)).complete).toBe(true);
    expect(running.erased).toEqual([a.id]);
    const events = (await gateway.audit.list({ subjectId: a.id })).filter((r) => r.kind === 'event');
    expect(events.filter((e) => e.operation === 'erasure_resolved:kept-for-other-subject')).toHaveLength(2);

    // Once b goes too, nothing is left.
    await gateway.erase(b.id, { reason: 'erasure request' });
    await gateway.runUntilIdle();
    for (const p of suite.partners.partners) expect(suite.partners.holdings(p), p).toEqual({});
    expect((await gateway.erasureStatus(b.id)).complete).toBe(true);
  });

  it("an access report does not show the other subject's data as this one's", async () => {
    const a = canaryRecord(3);
    const b = canaryRecord(4, { email: a.email });
    running = await suite.start({ records: [a, b] });
    const { gateway } = running;
    for (const id of [a.id, b.id]) await gateway.consent.grant(id, 'marketing', webConsent);
    for (const id of [a.id, b.id]) await gateway.changed(id);
    await gateway.runUntilIdle();

    const report = await gateway.access(a.id, { live: true });
    const text = JSON.stringify(report.partners);
    expect(text).not.toContain('CanaryGiven4x7q');
    for (const partner of ['mailchimp', 'auth0']) {
      expect(report.partners.find((p) => p.partner === partner)!.sharedRecord, partner).toBe(true);
    }
  });
});
