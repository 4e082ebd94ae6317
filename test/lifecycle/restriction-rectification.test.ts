import { afterEach, describe, expect, it } from 'vitest';
import { canaryRecord } from '../support/records.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { callsAfter, count, mark, operationsAfter, webConsent } from './helpers.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('restriction', () => {
  it('a restricted subject gets no transfer at all; unrestrict catches every partner up', async () => {
    h = await startHarness({ records: [canaryRecord(1)] });
    await h.gateway.restrict('subj-1', 'accuracy contested', { operator: 'ops-kim' });
    await h.gateway.consent.grant('subj-1', 'marketing', webConsent);
    await h.gateway.changed('subj-1');
    await h.gateway.resync();
    await h.gateway.runUntilIdle();
    expect(callsAfter(h, new Map())).toEqual({});
    expect(await count(h, `select 1 from transfer_log where subject_id = 'subj-1' and kind <> 'event'`)).toBe(0);
    const report = await h.gateway.access('subj-1');
    expect(report.restriction).toMatchObject({ restricted: true, reason: 'accuracy contested' });

    await h.gateway.unrestrict('subj-1', { operator: 'ops-kim' });
    await h.gateway.runUntilIdle();
    const caught = operationsAfter(h, new Map());
    expect(caught).toEqual({
      elogistik: ['upsert'],
      mailchimp: ['upsert'],
      stripe: ['upsert'],
      intercom: ['upsert'],
      auth0: ['upsert'],
    });
    expect(h.adapters.get('mailchimp')!.calls[0]!.subscription).toBe('subscribed');
    const events = await h.gateway.audit.list({ subjectId: 'subj-1', kind: 'event' });
    expect(events.filter((e) => e.trigger === 'restriction').map((e) => [e.operation, e.operator])).toEqual([
      ['restrict', 'ops-kim'],
      ['unrestrict', 'ops-kim'],
    ]);
    // The reason is free text: it stays in the subjects row, never in the log.
    expect(JSON.stringify(await h.gateway.audit.list({}))).not.toContain('accuracy contested');
    expect((await h.gateway.access('subj-1')).restriction).toEqual({ restricted: false, since: null, reason: null });
  });

  it('a rectification made while restricted waits, and goes out on unrestrict', async () => {
    h = await startHarness({ records: [canaryRecord(2)] });
    await h.gateway.changed('subj-2');
    await h.gateway.runUntilIdle();
    const start = mark(h);
    await h.gateway.restrict('subj-2', 'objection pending');
    await h.gateway.runUntilIdle();
    // Told by their restriction behaviour: Intercom archives; the others have no mechanism (no call).
    expect(operationsAfter(h, start)).toEqual({ intercom: ['restrict'] });
    const before = mark(h);
    h.source.put(canaryRecord(2, { phone: '+46709999902' }));
    await h.gateway.changed('subj-2');
    await h.gateway.runUntilIdle();
    expect(callsAfter(h, before)).toEqual({});
    await h.gateway.unrestrict('subj-2');
    await h.gateway.runUntilIdle();
    // Intercom is unarchived, then sent what changed meanwhile, in the same job.
    expect(operationsAfter(h, before)).toEqual({ elogistik: ['upsert'], intercom: ['unrestrict', 'upsert'] });
    const calls = callsAfter(h, before);
    expect(calls.elogistik![0]!.payload!.phone).toBe('+46709999902');
    expect(calls.intercom![1]!.payload!.phone).toBe('+46709999902');
  });
});

describe('rectification', () => {
  it('a changed email reaches exactly the partners allowed email (Mailchimp only with consent), no other', async () => {
    h = await startHarness({ records: [canaryRecord(3), canaryRecord(4)] });
    await h.gateway.consent.grant('subj-3', 'marketing', webConsent);
    await h.gateway.changed('subj-3');
    await h.gateway.changed('subj-4');
    await h.gateway.runUntilIdle();
    const before = mark(h);

    h.source.put(canaryRecord(3, { email: 'canary-3-new-x7q@example.test' }));
    h.source.put(canaryRecord(4, { email: 'canary-4-new-x7q@example.test' }));
    await h.gateway.changed('subj-3');
    await h.gateway.changed('subj-4');
    await h.gateway.runUntilIdle();
    const calls = callsAfter(h, before);
    const bySubject = (partner: string) => (calls[partner] ?? []).map((c) => c.payload?.email);
    expect(Object.keys(calls).sort()).toEqual(['auth0', 'elogistik', 'intercom', 'mailchimp']);
    expect(bySubject('elogistik').sort()).toEqual(['canary-3-new-x7q@example.test', 'canary-4-new-x7q@example.test']);
    expect(bySubject('intercom').sort()).toEqual(['canary-3-new-x7q@example.test', 'canary-4-new-x7q@example.test']);
    expect(bySubject('auth0').sort()).toEqual(['canary-3-new-x7q@example.test', 'canary-4-new-x7q@example.test']);
    // Mailchimp: only the subject who consented, and no new subscription status on a rectification.
    expect(calls.mailchimp!.map((c) => [c.payload?.email, c.subscription])).toEqual([
      ['canary-3-new-x7q@example.test', undefined],
    ]);
    expect(calls.stripe).toBeUndefined();
    expect(calls.twilio).toBeUndefined();
    expect(calls.resin).toBeUndefined();
    for (const [partner, list] of Object.entries(calls)) {
      for (const c of list)
        expect(
          Object.keys(c.payload!).every((k) =>
            h!.gateway.policy.allowedFields(partner).some((f) => f.split('.')[0] === k),
          ),
        ).toBe(true);
    }
  });
});
