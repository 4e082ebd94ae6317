/** Issue 12, item 4: the rules reconcile applies when the policy changed under what a partner holds. */
import { describe, expect, it } from 'vitest';
import type { PartnerPayload } from '../../src/adapter.ts';
import { describePayload } from '../../src/minimise.ts';
import { loadPolicyFile, withFormerPartners } from '../../src/policy/index.ts';
import { reconcile, type Directives, type Link, type ReconcileInput } from '../../src/reconcile.ts';

const policy = loadPolicyFile();
const now = new Date('2026-03-10T12:00:00Z');
const name = { given: 'G', family: 'F' };
const digestOf = (p: PartnerPayload) => JSON.stringify(p);
const none: Directives = { tombstoned: false, erasureDueAt: null, restricted: false, consent: {} };
const held = (extra: Partial<Link> = {}): Link => ({
  partnerIds: ['p-1'],
  digest: 'old',
  holds: true,
  consentEntryApplied: null,
  suppressed: false,
  erased: false,
  ...extra,
});

function decide(overrides: Partial<ReconcileInput> & Pick<ReconcileInput, 'partner'>) {
  const payload = overrides.payload === undefined ? { name } : overrides.payload;
  return reconcile({
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

describe('reconcile after a policy change', () => {
  const formerPolicy = withFormerPartners(policy, ['shopify']);
  const former = formerPolicy.partner('shopify');

  it('erases at a former partner whatever it may hold, and sends it nothing', () => {
    expect(decide({ partner: former, offboarding: true, link: held() })).toEqual({
      kind: 'erase',
      mode: 'delete',
      reason: 'offboarded',
    });
    // An id the host named there (a device it collected data under) is erased too.
    expect(
      decide({ partner: former, offboarding: true, link: held({ holds: false }), hostIds: ['d-1'] }),
    ).toMatchObject({
      kind: 'erase',
      reason: 'offboarded',
    });
    expect(decide({ partner: former, offboarding: true, link: null })).toEqual({
      kind: 'none',
      reason: 'not-in-policy',
    });
    expect(decide({ partner: former, offboarding: true, link: held({ holds: false, erased: true }) })).toEqual({
      kind: 'none',
      reason: 'not-in-policy',
    });
    expect(formerPolicy.allowedFields('shopify')).toEqual([]);
    expect(formerPolicy.legalBasis('shopify')).toBe('legal_obligation');
    // What the notice and access reports list is the policy's own partners.
    expect(formerPolicy.partnerNames).toEqual(policy.partnerNames);
  });

  it('drops a subject held without a grant the partner was told of; keeps an unsubscribed member', () => {
    const mailchimp = policy.partner('mailchimp');
    const payload = { name, email: 'e@x.test' };
    expect(decide({ partner: mailchimp, payload, link: held() })).toEqual({
      kind: 'erase',
      mode: 'delete',
      reason: 'no-consent',
    });
    const withdrawn = { ...none, consent: { marketing: { status: 'withdrawn' as const, entryId: '2' } } };
    expect(
      decide({ partner: mailchimp, payload, directives: withdrawn, link: held({ consentEntryApplied: '1' }) }),
    ).toEqual({
      kind: 'suppress',
      reason: 'consent-withdrawn',
    });
    const granted = { ...none, consent: { marketing: { status: 'granted' as const, entryId: '3' } } };
    expect(decide({ partner: mailchimp, payload, directives: granted, link: held() })).toMatchObject({
      kind: 'upsert',
      subscription: 'subscribed',
      consentEntryId: '3',
    });
  });

  it('erases (to re-create) where the partner holds a field it cannot clear that the payload lacks', () => {
    const intercom = policy.partner('intercom');
    const payload = { name, email: 'e@x.test' };
    expect(decide({ partner: intercom, payload, link: held(), unclearable: true })).toEqual({
      kind: 'erase',
      mode: 'delete',
      reason: 'uncleared-field',
    });
    expect(decide({ partner: intercom, payload, link: held(), unclearable: false })).toMatchObject({
      kind: 'upsert',
      create: false,
    });
    // Nothing held yet: a plain create.
    expect(decide({ partner: intercom, payload, link: null, unclearable: true })).toMatchObject({
      kind: 'upsert',
      create: true,
    });
  });
});
