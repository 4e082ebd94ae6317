import type { PartnerAdapter } from './adapter.ts';
import type { Policy } from './policy/index.ts';

/**
 * The host's adapters, checked against the policy: one per partner. An adapter for a partner the
 * policy no longer names is a former partner's: it is kept only to erase what that partner holds
 * (offboarding), never to send it anything.
 */
export function checkAdapters(
  policy: Policy,
  given: readonly PartnerAdapter[],
): { adapters: ReadonlyMap<string, PartnerAdapter>; partners: string[]; former: string[] } {
  const adapters = new Map<string, PartnerAdapter>();
  for (const adapter of given) {
    if (adapters.has(adapter.partner)) throw new Error(`two adapters for ${adapter.partner}`);
    if (policy.partnerNames.includes(adapter.partner)) {
      checkClearable(policy, adapter);
      checkRestriction(policy, adapter);
    }
    adapters.set(adapter.partner, adapter);
  }
  const former = [...adapters.keys()].filter((p) => !policy.partnerNames.includes(p)).sort();
  return { adapters, partners: [...policy.partnerNames.filter((p) => adapters.has(p)), ...former], former };
}

/**
 * A field the partner cannot clear, which the policy sends it, must be required there: otherwise a
 * record that loses it leaves the old value at the partner for good, and the notice is untrue.
 */
function checkClearable(policy: Policy, adapter: PartnerAdapter): void {
  const partner = policy.partner(adapter.partner);
  const sent = policy.allowedFields(adapter.partner);
  for (const field of adapter.cannotClear ?? []) {
    if (!sent.some((f) => f === field || f.startsWith(`${field}.`))) continue;
    const category = policy.categoryOfField(field);
    if (category && partner.requires.includes(category)) continue;
    throw new Error(
      `policy: partners.${adapter.partner}.requires must include ${category ?? field}: ${adapter.partner} cannot clear ${field} once sent, so a record without it must erase the subject there`,
    );
  }
}

/**
 * The policy's restriction behaviour must be one the adapter can carry out: otherwise a restriction
 * would reach the partner only as a dead letter, and the notice would promise what never happens.
 */
function checkRestriction(policy: Policy, adapter: PartnerAdapter): void {
  const mode = policy.partner(adapter.partner).restriction;
  const can =
    mode === 'suppress'
      ? Boolean(adapter.suppress)
      : mode === 'archive'
        ? Boolean(adapter.restrict && adapter.unrestrict)
        : true;
  if (!can)
    throw new Error(
      `policy: partners.${adapter.partner}.restriction is ${mode}, but the ${adapter.partner} adapter has no ${mode === 'suppress' ? 'suppress' : 'restrict and unrestrict'}: use keep, or an adapter that can`,
    );
}
