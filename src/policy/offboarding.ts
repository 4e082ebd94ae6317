import type { Policy } from './load.ts';
import type { LegalBasis, PartnerPolicy } from './schema.ts';

/**
 * Partners the policy no longer names but whose adapter the host still gives ("former" partners):
 * the gateway sends them nothing and erases what they hold (offboarding), through the same plan,
 * transfer and log as every other call. What the gateway knows they hold is in the links table.
 */

/** The purpose the transfer log names for a call to a former partner: erasing what it holds. */
export const OFFBOARDING_PURPOSE = 'offboarding';

/**
 * The legal basis the log records for those erasures: the controller must erase what a processor
 * it no longer uses holds (GDPR Art. 17(1)(a), 28(3)(g)); no purpose of the policy covers it.
 */
export const OFFBOARDING_LEGAL_BASIS: LegalBasis = 'legal_obligation';

/** Whether a partner is being offboarded: it has an adapter but the policy does not name it. */
export function isFormerPartner(policy: Pick<Policy, 'partnerNames'>, partner: string): boolean {
  return !policy.partnerNames.includes(partner);
}

/**
 * The policy as the workers and transfer see it: the same document, digest and partners, and for a
 * former partner a stand-in that sends nothing, requires nothing and erases by deletion. Everything
 * that lists the policy's partners (the notice, access reports, erasure completeness) sees the
 * policy's own list, so a former partner never reappears in what a data subject is told.
 */
export function withFormerPartners(policy: Policy, former: readonly string[]): Policy {
  if (former.length === 0) return policy;
  const formerSet = new Set(former);
  const standIn = (name: string): PartnerPolicy =>
    Object.freeze<PartnerPolicy>({
      displayName: name,
      description: { sv: name, en: name },
      purpose: OFFBOARDING_PURPOSE,
      mode: 'sync',
      // Nothing is restricted there: the stand-in only erases.
      restriction: 'keep',
      sends: [],
      requires: [],
      collects: [],
      erasure: 'delete',
      transfer: { outsideEea: false },
      keepsAfterErasure: [],
      actions: {},
      partnerFields: {},
    });
  const standIns = new Map(former.map((name) => [name, standIn(name)]));
  return Object.freeze({
    ...policy,
    partner: (name: string) => standIns.get(name) ?? policy.partner(name),
    allowedFields: (name: string) => (formerSet.has(name) ? [] : policy.allowedFields(name)),
    categoryOfField: (field: string) => policy.categoryOfField(field),
    categoryOfHeldField: (partner: string, path: string) =>
      formerSet.has(partner) ? policy.categoryOfField(path) : policy.categoryOfHeldField(partner, path),
    legalBasis: (name: string) => (formerSet.has(name) ? OFFBOARDING_LEGAL_BASIS : policy.legalBasis(name)),
  });
}
