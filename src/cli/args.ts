/** Argument parsers and checks shared by commands. Errors name the option, never echo a personal value. */
import { InvalidArgumentError } from 'commander';
import type { Gateway } from '../gateway.ts';
import type { Policy } from '../policy/index.ts';
import { usageError } from './errors.ts';

const SUBJECT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** A subject id has the master record's id shape; a value that does not (an email typed by mistake) is not echoed. */
export function subjectId(value: string): string {
  // Not an InvalidArgumentError: commander would echo the value, and it may be personal.
  if (!SUBJECT_ID.test(value))
    throw usageError(
      'invalid subject id: it is 1-128 characters of letters, digits, _ . : - (the master record id, not a name or an email)',
    );
  return value;
}

export function collect<T>(parse: (value: string) => T) {
  return (value: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(value)];
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0)
    throw new InvalidArgumentError('must be a whole number above 0');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a whole number');
  return n;
}

export function rate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new InvalidArgumentError('must be a number within 0..1');
  return n;
}

export function isoDate(value: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())
    ? new Date(value.trim())
    : new Date(Number.NaN);
  if (Number.isNaN(date.getTime()))
    throw new InvalidArgumentError('must be an ISO 8601 date or time, e.g. 2026-03-01 or 2026-03-01T12:00:00Z');
  return date;
}

export function nonBlank(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('must not be blank');
  return value.trim();
}

/** The partners this gateway works with (those it has adapters for); anything else is a usage error. */
export async function checkPartners(gateway: Gateway, partners: readonly string[] | undefined): Promise<void> {
  if (!partners || partners.length === 0) return;
  const known = (await gateway.status()).partners.map((p) => p.partner);
  for (const partner of partners) {
    if (!known.includes(partner)) {
      const inPolicy = gateway.policy.partnerNames.includes(partner);
      throw usageError(
        inPolicy
          ? `partner '${partner}' is not enabled here (enabled: ${known.join(', ') || 'none'})`
          : `unknown partner '${partner}': expected one of ${known.join(', ') || 'none'}`,
      );
    }
  }
}

/** Consent purposes are the policy's purposes that rest on consent. */
export function checkConsentPurpose(policy: Policy, purpose: string): void {
  const purposes = Object.entries(policy.document.purposes)
    .filter(([, p]) => p.legalBasis === 'consent')
    .map(([name]) => name);
  if (!purposes.includes(purpose)) {
    throw usageError(
      `--purpose ${purpose}: not a consent-based purpose in the policy (expected ${purposes.join(', ') || 'none'})`,
    );
  }
}
