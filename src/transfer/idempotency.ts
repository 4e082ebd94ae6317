import type { Keys } from '../keys.ts';

/**
 * The one idempotency-key format. The key names a transition, never a payload alone: for a sync it
 * is (what the partner acknowledged last -> what we send now), so a retried job repeats its key and
 * the partner does the work once, while a later change back to an earlier payload (A -> B -> A) is a
 * different transition with a different key and is not answered with a stale replay. For a one-off
 * call (an action, a live fetch) the transition is the call's own correlation id. The key is keyed
 * by the digest key: it carries no personal value and cannot be recomputed outside the gateway.
 */
export function idempotencyKey(
  keys: Pick<Keys, 'payloadDigest'>,
  partner: string,
  operation: string,
  transition: unknown,
): string {
  return `pgw-${partner}-${operation}-${keys.payloadDigest({ partner, operation, transition }).slice(0, 40)}`;
}
