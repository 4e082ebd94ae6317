import { afterEach, describe, expect, it } from 'vitest';
import { fromDocument, loadPolicyFile } from '../../src/policy/index.ts';
import { canaryRecord } from '../support/records.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { callsAfter, mark, webConsent, writtenWithdrawal } from './helpers.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('the consent ledger', () => {
  it('refuses a grant for an erased subject: no ledger entry, no log row; a withdrawal is still recorded', async () => {
    h = await startHarness({ records: [canaryRecord(2)] });
    await h.gateway.erase('subj-2', { reason: 'data subject request' });
    const logged = async () =>
      (await h!.gateway.audit.list({ subjectId: 'subj-2' })).filter((r) => r.operation.startsWith('consent_'));
    await expect(h.gateway.consent.grant('subj-2', 'marketing', webConsent)).rejects.toThrow(
      'subject subj-2 is erased: a consent grant cannot be recorded for it',
    );
    expect(await h.gateway.consent.history('subj-2')).toEqual([]);
    expect(await logged()).toEqual([]);
    // Another subject's grant is not refused by it.
    await h.gateway.consent.grant('subj-3', 'marketing', webConsent);
    expect((await h.gateway.consent.history('subj-3')).map((e) => e.status)).toEqual(['granted']);

    await h.gateway.consent.withdraw('subj-2', 'marketing', writtenWithdrawal);
    expect((await h.gateway.consent.history('subj-2')).map((e) => e.status)).toEqual(['withdrawn']);
    expect((await logged()).map((r) => r.operation)).toEqual(['consent_withdraw']);
  });

  it('rejects purposes that are unknown or not consent-based, naming them, and evidence that is not a reference', async () => {
    h = await startHarness({ records: [canaryRecord(1)] });
    const c = h.gateway.consent;
    await expect(c.grant('subj-1', 'newsletters', webConsent)).rejects.toThrow(
      'unknown purpose newsletters: consent purposes in the policy are marketing',
    );
    await expect(c.grant('subj-1', 'fulfilment', webConsent)).rejects.toThrow(
      'purpose fulfilment rests on contract, not consent',
    );
    await expect(c.grant('subj-1', 'Marketing & more', webConsent)).rejects.toThrow(/^invalid purpose/);
    await expect(
      c.grant('subj-1', 'marketing', { source: 'web-form', evidence: 'canary-1-x7q@example.test' }),
    ).rejects.toThrow(/consent evidence must be a reference/);
    await expect(
      c.grant('subj-1', 'marketing', { source: 'web-form', evidence: 'Signed by CanaryGiven1x7q' }),
    ).rejects.toThrow(/consent evidence/);
    await expect(c.grant('subj-1', 'marketing', { source: 'Told us on the phone' })).rejects.toThrow(/consent source/);
    await expect(c.grant('not an id!', 'marketing', webConsent)).rejects.toThrow(/^subject id must be/);
    expect(await c.history('subj-1')).toEqual([]);
  });

  it('is append-only, latest entry wins, and records a written withdrawal as such', async () => {
    h = await startHarness({ records: [canaryRecord(1)] });
    h.clock.now = new Date('2026-03-01T09:00:00Z');
    const granted = await h.gateway.consent.grant('subj-1', 'marketing', webConsent);
    h.clock.now = new Date('2026-03-05T09:00:00Z');
    const withdrawn = await h.gateway.consent.withdraw('subj-1', 'marketing', writtenWithdrawal);
    h.clock.now = new Date('2026-03-07T09:00:00Z');
    await h.gateway.consent.grant('subj-1', 'marketing', { source: 'app' });
    expect(granted).toMatchObject({
      subjectId: 'subj-1',
      purpose: 'marketing',
      status: 'granted',
      source: 'web-form',
      evidence: 'form-submission:7f3a9c',
      operator: null,
    });
    expect(withdrawn).toMatchObject({
      status: 'withdrawn',
      source: 'written-notice',
      evidence: 'letter:2026-0042',
      operator: 'ops-kim',
      at: new Date('2026-03-05T09:00:00Z'),
    });
    const history = await h.gateway.consent.history('subj-1');
    expect(history.map((e) => [e.status, e.source, e.at.toISOString()])).toEqual([
      ['granted', 'web-form', '2026-03-01T09:00:00.000Z'],
      ['withdrawn', 'written-notice', '2026-03-05T09:00:00.000Z'],
      ['granted', 'app', '2026-03-07T09:00:00.000Z'],
    ]);
    const events = await h.gateway.audit.list({ subjectId: 'subj-1', kind: 'event' });
    expect(events.map((e) => [e.operation, e.trigger, e.purpose, e.legalBasis, e.operator])).toEqual([
      ['consent_grant', 'consent', 'marketing', 'consent', null],
      ['consent_withdraw', 'consent', 'marketing', 'consent', 'ops-kim'],
      ['consent_grant', 'consent', 'marketing', 'consent', null],
    ]);
  });

  it('no grant, no push; a grant subscribes; a withdrawal suppresses, and no later resync or change writes "subscribed"; the member follows the record', async () => {
    h = await startHarness({ records: [canaryRecord(1)] });
    const mailchimp = h.adapters.get('mailchimp')!;
    await h.gateway.changed('subj-1');
    await h.gateway.resync();
    await h.gateway.runUntilIdle();
    expect(mailchimp.calls).toEqual([]);

    await h.gateway.consent.grant('subj-1', 'marketing', webConsent);
    await h.gateway.runUntilIdle();
    expect(mailchimp.calls.map((c) => [c.operation, c.subscription])).toEqual([['upsert', 'subscribed']]);
    expect(Object.keys(mailchimp.calls[0]!.payload!).sort()).toEqual(['email', 'name']);

    const beforeWithdrawal = mark(h);
    await h.gateway.consent.withdraw('subj-1', 'marketing', writtenWithdrawal);
    await h.gateway.runUntilIdle();
    // The withdrawal went to the consent-based partner only, at once.
    expect(
      Object.fromEntries(
        Object.entries(callsAfter(h, beforeWithdrawal)).map(([p, calls]) => [p, calls.map((c) => c.operation)]),
      ),
    ).toEqual({ mailchimp: ['suppress'] });

    h.source.put(canaryRecord(1, { email: 'canary-1-renamed-x7q@example.test' }));
    await h.gateway.changed('subj-1');
    await h.gateway.resync();
    await h.gateway.resync({ force: true });
    await h.gateway.runUntilIdle();
    const after = mailchimp.calls.slice(beforeWithdrawal.get('mailchimp'));
    expect(after.map((c) => c.operation)).toContain('suppress');
    expect(after.filter((c) => c.subscription !== undefined)).toEqual([]);
    // The unsubscribed member is kept in step with the record (the new address), once, and stays unsubscribed.
    const updates = after.filter((c) => c.operation === 'upsert' || c.operation === 'upsert_batch');
    expect(updates.map((c) => c.payload?.email)).toEqual(['canary-1-renamed-x7q@example.test']);
    expect([...mailchimp.held.values()].map((e) => e.status)).toEqual(['unsubscribed']);
    const suppress = await h.gateway.audit.list({ subjectId: 'subj-1', partner: 'mailchimp', kind: 'outcome' });
    expect(suppress.map((r) => [r.operation, r.trigger, r.outcome])).toContainEqual(['suppress', 'consent', 'ok']);
  });

  it('a withdrawal reaches every partner relying on the purpose: unsubscribe where the policy says so, erase where it says delete', async () => {
    const base = loadPolicyFile().document;
    const doc = structuredClone(base);
    doc.partners.intercom = {
      ...doc.partners.intercom!,
      purpose: 'marketing',
      consent: { purpose: 'marketing', onWithdrawal: 'delete' },
    };
    h = await startHarness({ records: [canaryRecord(2)], overrides: { policy: fromDocument(doc) } });
    await h.gateway.changed('subj-2');
    await h.gateway.runUntilIdle();
    expect(h.adapters.get('intercom')!.calls).toEqual([]); // now consent-based: no grant, no push
    await h.gateway.consent.grant('subj-2', 'marketing', webConsent);
    await h.gateway.runUntilIdle();
    const before = mark(h);
    await h.gateway.consent.withdraw('subj-2', 'marketing', writtenWithdrawal);
    await h.gateway.runUntilIdle();
    const calls = callsAfter(h, before);
    expect(Object.fromEntries(Object.entries(calls).map(([p, c]) => [p, c.map((x) => x.operation)]))).toEqual({
      mailchimp: ['suppress'],
      intercom: ['erase'],
    });
    expect(h.adapters.get('intercom')!.held.size).toBe(0);
  });
});
