import { createHmac } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

/**
 * Keyed hashes. Pseudonyms and payload digests are HMACs, not plain hashes: a payload digest of a
 * phone number could otherwise be reversed by trying every number, and two partners could otherwise
 * join their data on an unkeyed hash of our customer id.
 */
export interface GatewaySecrets {
  /** Keys the per-partner pseudonyms. Changing it changes every pseudonym partners know. */
  readonly pseudonymKey: string;
  /** Keys payload digests in links and the transfer log. Defaults to a key derived from pseudonymKey. */
  readonly digestKey?: string;
}

export interface Keys {
  pseudonym(partner: string, subjectId: string): string;
  payloadDigest(value: unknown): string;
}

export function createKeys(secrets: GatewaySecrets): Keys {
  if (!secrets?.pseudonymKey || secrets.pseudonymKey.length < 16) {
    throw new Error('secrets.pseudonymKey must be at least 16 characters (set PARTNER_GATEWAY_PSEUDONYM_KEY)');
  }
  const digestKey =
    secrets.digestKey ?? createHmac('sha256', secrets.pseudonymKey).update('payload-digest').digest('hex');
  return {
    pseudonym: (partner, subjectId) =>
      createHmac('sha256', secrets.pseudonymKey).update(`${partner}\u0000${subjectId}`).digest('hex').slice(0, 32),
    payloadDigest: (value) => createHmac('sha256', digestKey).update(canonicalJson(value)).digest('hex'),
  };
}
