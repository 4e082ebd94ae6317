import { afterEach, describe, expect, it } from 'vitest';
import { canaryRecord } from '../support/records.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { webConsent, writtenWithdrawal } from './helpers.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('a withdrawal while the subject is restricted', () => {
  it('reaches Mailchimp once the restriction is lifted', async () => {
    h = await startHarness({ records: [canaryRecord(1)] });
    const mailchimp = h.adapters.get('mailchimp')!;
    await h.gateway.consent.grant('subj-1', 'marketing', webConsent);
    await h.gateway.runUntilIdle();
    await h.gateway.restrict('subj-1', 'objection pending');
    await h.gateway.consent.withdraw('subj-1', 'marketing', writtenWithdrawal);
    await h.gateway.runUntilIdle();
    await h.gateway.unrestrict('subj-1');
    await h.gateway.runUntilIdle();
    expect(mailchimp.calls.map((c) => c.operation)).toEqual(['upsert', 'suppress']);
    expect([...mailchimp.held.values()].map((e) => e.status)).toEqual(['unsubscribed']);
  });

  // Restriction means "send nothing new"; a withdrawal sends nothing new either, it stops processing,
  // so it does not wait for unrestrict.
  it('reaches Mailchimp at once, without waiting for unrestrict', async () => {
    h = await startHarness({ records: [canaryRecord(2)] });
    const mailchimp = h.adapters.get('mailchimp')!;
    await h.gateway.consent.grant('subj-2', 'marketing', webConsent);
    await h.gateway.runUntilIdle();
    await h.gateway.restrict('subj-2', 'objection pending');
    await h.gateway.consent.withdraw('subj-2', 'marketing', writtenWithdrawal);
    await h.gateway.runUntilIdle();
    expect(mailchimp.calls.map((c) => c.operation)).toEqual(['upsert', 'suppress']);
  });
});
