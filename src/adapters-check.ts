import type { PartnerAdapter } from './adapter.ts';
import type { Policy } from './policy/index.ts';

/** The host's adapters, checked against the policy: one per partner, each a partner the policy names. */
export function checkAdapters(
  policy: Policy,
  given: readonly PartnerAdapter[],
): { adapters: ReadonlyMap<string, PartnerAdapter>; partners: string[] } {
  const adapters = new Map<string, PartnerAdapter>();
  for (const adapter of given) {
    if (!policy.document.partners[adapter.partner]) {
      throw new Error(
        `adapter for ${adapter.partner}: the policy has no such partner (it has ${policy.partnerNames.join(', ')})`,
      );
    }
    if (adapters.has(adapter.partner)) throw new Error(`two adapters for ${adapter.partner}`);
    adapters.set(adapter.partner, adapter);
  }
  return { adapters, partners: policy.partnerNames.filter((p) => adapters.has(p)) };
}
