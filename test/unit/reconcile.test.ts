import { describe, expect, it } from 'vitest';
import type { PartnerPayload } from '../../src/adapter.ts';
import { describePayload } from '../../src/minimise.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import { reconcile, type Directives, type Link, type ReconcileInput } from '../../src/reconcile.ts';

const policy = loadPolicyFile();
const now = new Date('2026-03-10T12:00:00Z');
const name = { given: 'G', family: 'F' };
const digestOf = (p: PartnerPayload) => JSON.stringify(p);
const none: Directives = { tombstoned: false, erasureDueAt: null, restricted: false, consent: {} };
const held = (payload: PartnerPayload, extra: Partial<Link> = {}): Link => ({
  partnerIds: ['p-1'],
  digest: digestOf(payload),
  holds: true,
  consentEntryApplied: null,
  suppressed: false,
  erased: false,
  ...extra,
});

function decide(partner: string, overrides: Partial<ReconcileInput>) {
  const payload = overrides.payload === undefined ? { name } : overrides.payload;
  return reconcile({
    partner: policy.partner(partner),
    payload,
    payloadCategories: payload ? describePayload(payload, policy).categories : [],
    digestOf,
    hostIds: [],
    directives: none,
    link: null,
    now,
    ...overrides,
  });
}

describe('reconcile', () => {
  it('creates what is missing and skips what is unchanged', () => {
    expect(decide('stripe', {})).toMatchObject({ kind: 'upsert', create: true, payload: { name } });
    expect(decide('stripe', { link: held({ name }) })).toEqual({ kind: 'none', reason: 'unchanged' });
    expect(decide('stripe', { link: held({ name: { given: 'Old', family: 'F' } }) })).toMatchObject({
      kind: 'upsert',
      create: false,
    });
    expect(decide('stripe', { link: held({ name }), force: true })).toMatchObject({ kind: 'upsert' });
  });

  it('never makes anything present for an erased subject', () => {
    const tomb = { ...none, tombstoned: true };
    expect(decide('stripe', { directives: tomb })).toEqual({ kind: 'none', reason: 'erased' });
    expect(decide('stripe', { directives: tomb, force: true })).toEqual({ kind: 'none', reason: 'erased' });
    expect(decide('stripe', { directives: tomb, link: held({ name }) })).toEqual({
      kind: 'erase',
      mode: 'delete',
      reason: 'erasure',
    });
    // Even with consent granted and a record present.
    const granted = { ...tomb, consent: { marketing: { status: 'granted' as const, entryId: '9' } } };
    expect(decide('mailchimp', { directives: granted, payload: { name, email: 'e@x.test' } })).toEqual({
      kind: 'none',
      reason: 'erased',
    });
  });

  it('erases when erasure falls due, not before', () => {
    const due = { ...none, erasureDueAt: new Date(now.getTime() + 1000) };
    expect(decide('stripe', { directives: due, link: held({ name }) })).toEqual({ kind: 'none', reason: 'unchanged' });
    expect(
      decide('stripe', { directives: due, link: held({ name }), now: new Date(now.getTime() + 1000) }),
    ).toMatchObject({ kind: 'erase' });
  });

  it('erases at a partner that collects directly even when we sent nothing (balena devices)', () => {
    const tomb = { ...none, tombstoned: true };
    expect(decide('resin', { directives: tomb, payload: {}, hostIds: ['123'] })).toMatchObject({ kind: 'erase' });
    expect(decide('resin', { directives: tomb, payload: {}, hostIds: [] })).toEqual({ kind: 'none', reason: 'erased' });
    // Once the partner confirmed erasing those devices, they are not erased again; a new device is.
    const done: Link = {
      partnerIds: ['123'],
      digest: null,
      holds: false,
      consentEntryApplied: null,
      suppressed: false,
      erased: true,
    };
    expect(decide('resin', { directives: tomb, payload: {}, hostIds: ['123'], link: done })).toEqual({
      kind: 'none',
      reason: 'erased',
    });
    expect(decide('resin', { directives: tomb, payload: {}, hostIds: ['123', '456'], link: done })).toMatchObject({
      kind: 'erase',
    });
    expect(decide('resin', { payload: {}, hostIds: ['123'] })).toEqual({ kind: 'none', reason: 'not-sent' });
    expect(decide('twilio', { payload: { phone: '+46701234567' } })).toEqual({ kind: 'none', reason: 'action-only' });
  });

  it('erases when the host no longer has the record', () => {
    expect(decide('stripe', { payload: null, link: held({ name }) })).toMatchObject({
      kind: 'erase',
      reason: 'record-gone',
    });
    expect(decide('stripe', { payload: null })).toEqual({ kind: 'none', reason: 'nothing-held' });
  });

  it('sends nothing new while restricted, and keeps what is there', () => {
    const restricted = { ...none, restricted: true };
    expect(decide('stripe', { directives: restricted })).toEqual({ kind: 'none', reason: 'restricted' });
    const old = held({ name: { given: 'Old', family: 'F' } });
    // Art. 19: a partner that holds the subject is told once, by its restriction behaviour.
    expect(decide('stripe', { directives: restricted, link: old })).toEqual({ kind: 'restrict', mode: 'keep' });
    expect(decide('stripe', { directives: restricted, link: { ...old, restrictionApplied: 'keep' } })).toEqual({
      kind: 'none',
      reason: 'restricted',
    });
    expect(
      decide('stripe', { directives: restricted, link: { ...old, restrictionApplied: 'keep' }, force: true }),
    ).toEqual({ kind: 'none', reason: 'restricted' });
  });

  it('each partner restricts by its policy behaviour, and unrestrict undoes what was done', () => {
    const restricted = { ...none, restricted: true };
    const contact = held({ name, email: 'e@x.test' });
    expect(decide('intercom', { payload: { name, email: 'e@x.test' }, directives: restricted, link: contact })).toEqual(
      { kind: 'restrict', mode: 'archive' },
    );
    const archived = { ...contact, restrictionApplied: 'archive' as const };
    expect(decide('intercom', { payload: { name, email: 'e@x.test' }, link: archived })).toEqual({
      kind: 'unrestrict',
      mode: 'archive',
    });
    // What the link says was done is undone, whatever the policy says now.
    expect(decide('stripe', { link: { ...held({ name }), restrictionApplied: 'archive' } })).toEqual({
      kind: 'unrestrict',
      mode: 'archive',
    });
    // Twilio (action) and balena (collects directly) are told too: both may hold the subject.
    expect(decide('twilio', { payload: { phone: '+46700000000' }, directives: restricted, link: held({}) })).toEqual({
      kind: 'restrict',
      mode: 'keep',
    });
    expect(decide('resin', { payload: {}, directives: restricted, hostIds: ['1234'] })).toEqual({
      kind: 'restrict',
      mode: 'keep',
    });
    expect(decide('resin', { payload: {}, directives: restricted })).toEqual({ kind: 'none', reason: 'not-sent' });
    // Erasure goes first: it makes the restriction moot.
    expect(decide('stripe', { directives: { ...restricted, tombstoned: true }, link: held({ name }) })).toMatchObject({
      kind: 'erase',
    });
  });

  describe('consent-based partners', () => {
    const payload = { name, email: 'e@x.test' };
    const granted = (entryId: string): Directives => ({
      ...none,
      consent: { marketing: { status: 'granted', entryId } },
    });
    const withdrawn: Directives = { ...none, consent: { marketing: { status: 'withdrawn', entryId: '2' } } };

    it('no grant, no push', () => {
      expect(decide('mailchimp', { payload })).toEqual({ kind: 'none', reason: 'no-consent' });
    });

    it('writes subscribed once per grant, and never on a plain update', () => {
      expect(decide('mailchimp', { payload, directives: granted('1') })).toMatchObject({
        kind: 'upsert',
        subscription: 'subscribed',
        consentEntryId: '1',
      });
      const told = held(payload, { consentEntryApplied: '1' });
      expect(decide('mailchimp', { payload, directives: granted('1'), link: told })).toEqual({
        kind: 'none',
        reason: 'unchanged',
      });
      const rename = decide('mailchimp', {
        payload: { ...payload, name: { given: 'New', family: 'F' } },
        directives: granted('1'),
        link: told,
      });
      expect(rename).toMatchObject({ kind: 'upsert' });
      expect(rename).not.toHaveProperty('subscription');
      // A resync forced through is still a plain update: no subscription without a new grant.
      expect(decide('mailchimp', { payload, directives: granted('1'), link: told, force: true })).not.toHaveProperty(
        'subscription',
      );
    });

    it('a withdrawal goes out even while the subject is restricted; a grant waits', () => {
      const told = held(payload, { consentEntryApplied: '1' });
      // Restricted and not yet told: the restriction's suppression unsubscribes the member at once.
      expect(decide('mailchimp', { payload, directives: { ...withdrawn, restricted: true }, link: told })).toEqual({
        kind: 'restrict',
        mode: 'suppress',
      });
      const restricted = { ...told, restrictionApplied: 'keep' as const };
      expect(
        decide('mailchimp', { payload, directives: { ...withdrawn, restricted: true }, link: restricted }),
      ).toEqual({ kind: 'suppress', reason: 'consent-withdrawn' });
      expect(
        decide('mailchimp', {
          payload,
          directives: { ...granted('3'), restricted: true },
          link: { ...told, suppressed: true, restrictionApplied: 'suppress' },
        }),
      ).toEqual({ kind: 'none', reason: 'restricted' });
    });

    it('restricted: suppressed once, never re-subscribed (not even forced); unrestrict restores exactly the consent', () => {
      const told = held(payload, { consentEntryApplied: '1' });
      const restricted = { ...granted('1'), restricted: true };
      expect(decide('mailchimp', { payload, directives: restricted, link: told })).toEqual({
        kind: 'restrict',
        mode: 'suppress',
      });
      const suppressed = { ...told, suppressed: true, restrictionApplied: 'suppress' as const };
      const renamed = { ...payload, name: { given: 'New', family: 'F' } };
      for (const input of [
        { payload, directives: restricted, link: suppressed },
        { payload: renamed, directives: restricted, link: suppressed },
        { payload, directives: restricted, link: suppressed, force: true },
        { payload, directives: { ...granted('7'), restricted: true }, link: suppressed },
      ])
        expect(decide('mailchimp', input)).toEqual({ kind: 'none', reason: 'restricted' });
      // Lifted with a grant in force: the upsert carries the subscription again.
      expect(decide('mailchimp', { payload, directives: granted('1'), link: suppressed })).toMatchObject({
        kind: 'upsert',
        subscription: 'subscribed',
      });
      // Lifted after a withdrawal (or without any grant): only noted, the member stays unsubscribed.
      expect(decide('mailchimp', { payload, directives: withdrawn, link: suppressed })).toEqual({
        kind: 'unrestrict',
        mode: 'suppress',
      });
      expect(decide('mailchimp', { payload, directives: none, link: suppressed })).toEqual({
        kind: 'unrestrict',
        mode: 'suppress',
      });
      expect(
        decide('mailchimp', { payload, directives: withdrawn, link: { ...suppressed, restrictionApplied: null } }),
      ).toEqual({ kind: 'none', reason: 'no-consent' });
    });

    it('withdrawal unsubscribes once, then leaves the partner alone', () => {
      const told = held(payload, { consentEntryApplied: '1' });
      expect(decide('mailchimp', { payload, directives: withdrawn, link: told })).toEqual({
        kind: 'suppress',
        reason: 'consent-withdrawn',
      });
      const suppressed = { ...told, suppressed: true };
      expect(decide('mailchimp', { payload, directives: withdrawn, link: suppressed })).toEqual({
        kind: 'none',
        reason: 'no-consent',
      });
      expect(decide('mailchimp', { payload, directives: withdrawn, link: suppressed, force: true })).toEqual({
        kind: 'none',
        reason: 'no-consent',
      });
    });

    it('a new grant after a withdrawal subscribes again', () => {
      const suppressed = held(payload, { consentEntryApplied: '1', suppressed: true });
      expect(decide('mailchimp', { payload, directives: granted('3'), link: suppressed })).toMatchObject({
        kind: 'upsert',
        subscription: 'subscribed',
        consentEntryId: '3',
      });
    });

    it('erases instead when the policy says withdrawal means deletion', () => {
      const doc = structuredClone(policy.document) as {
        partners: Record<string, { consent?: { onWithdrawal: string } }>;
      };
      doc.partners.mailchimp!.consent!.onWithdrawal = 'delete';
      const told = held(payload, { consentEntryApplied: '1' });
      expect(
        reconcile({
          partner: doc.partners.mailchimp as never,
          payload,
          payloadCategories: ['name', 'email'],
          digestOf,
          hostIds: [],
          directives: withdrawn,
          link: told,
          now,
        }),
      ).toMatchObject({ kind: 'erase', reason: 'consent-withdrawn' });
    });
  });

  it('erases when data the partner requires disappears, and sends nothing without it', () => {
    const granted: Directives = { ...none, consent: { marketing: { status: 'granted', entryId: '1' } } };
    expect(decide('mailchimp', { payload: { name }, directives: granted })).toEqual({
      kind: 'none',
      reason: 'no-data',
    });
    expect(
      decide('mailchimp', {
        payload: { name },
        directives: granted,
        link: held({ name, email: 'e@x.test' }, { consentEntryApplied: '1' }),
      }),
    ).toMatchObject({
      kind: 'erase',
      reason: 'missing-required-data',
    });
    expect(decide('stripe', { payload: {} })).toEqual({ kind: 'none', reason: 'no-data' });
  });
});
