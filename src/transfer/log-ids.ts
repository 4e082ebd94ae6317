import type { PartnerAdapter } from '../adapter.ts';
import type { Keys } from '../keys.ts';

/**
 * How a partner id is named where it is kept for the record (the transfer log, an erased link): as
 * itself, or, for a partner whose ids are derived from a personal value (Mailchimp: md5 of the
 * email), as a keyed reference that names the same id without being reversible outside the gateway.
 */
export type RecordedId = (partner: string, id: string | undefined) => string | undefined;

export function recordedIds(
  keys: Pick<Keys, 'payloadDigest'>,
  adapters: ReadonlyMap<string, PartnerAdapter>,
): RecordedId {
  return (partner, id) => {
    if (id === undefined || !adapters.get(partner)?.personalIds) return id;
    return `ref:${keys.payloadDigest({ partnerId: id, partner }).slice(0, 24)}`;
  };
}
