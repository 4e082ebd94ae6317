/**
 * Generic helpers on the contract's own types (PartnerError, HeldData fields), for adapters whatever
 * their transport. No partner API knowledge lives here.
 */
import { PartnerError } from '../../src/adapter.ts';

/** "Already gone" is success: a PartnerError with HTTP 404 becomes undefined, anything else is rethrown. */
export async function ignoreNotFound<T>(pending: Promise<T>): Promise<T | undefined> {
  try {
    return await pending;
  } catch (err) {
    if (err instanceof PartnerError && err.status === 404) return undefined;
    throw err;
  }
}

/**
 * A partner's record as HeldData fields: nested objects become dotted paths ('address.city'), and
 * empty values (null, undefined, '', empty lists) are left out, since the partner holds nothing there.
 */
export function flatFields(record: Readonly<Record<string, unknown>>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value === null || value === undefined || value === '') continue;
    if (Array.isArray(value)) {
      if (value.length > 0) out[path] = value;
    } else if (typeof value === 'object') Object.assign(out, flatFields(value as Record<string, unknown>, path));
    else out[path] = value;
  }
  return out;
}

/** Several partner records for one subject (a duplicate): keep one key per field, a list where they differ. */
export function mergeHeldFields(held: readonly Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown[]> = {};
  for (const fields of held) {
    for (const [k, v] of Object.entries(fields)) {
      const list = (out[k] ??= []);
      if (!list.some((seen) => JSON.stringify(seen) === JSON.stringify(v))) list.push(v);
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, list]) => [k, list.length === 1 ? list[0] : list]));
}

/** Longest value (and key) an access report carries from a partner's free-form field; longer is cut. */
export const HELD_VALUE_MAX = 500;
const HELD_KEY_MAX = 100;
const HELD_DEPTH_MAX = 4;
const HELD_LEAVES_MAX = 200;

/**
 * A partner's free-form record (Auth0 user_metadata, Intercom custom_attributes, a Mailchimp
 * location) as HeldData fields under `prefix`, where anyone (the partner, the host's app, the
 * subject) may have written anything: only strings, numbers and booleans (and lists of them) are
 * kept, each cut to HELD_VALUE_MAX characters, nesting and count bounded so a hostile answer cannot
 * blow up the report. A value of another shape is shown as its type, never dropped silently.
 */
export function boundedFields(value: unknown, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let leaves = 0;
  const put = (path: string, v: unknown) => {
    if (leaves++ < HELD_LEAVES_MAX) out[path] = v;
  };
  const walk = (v: unknown, path: string, depth: number): void => {
    if (v === null || v === undefined || v === '') return;
    if (typeof v === 'string') return put(path, cut(v));
    if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return put(path, v);
    if (Array.isArray(v)) {
      const scalars = v.filter((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean');
      if (scalars.length === v.length) return scalars.length > 0 ? put(path, scalars.map(scalar)) : undefined;
      if (depth < HELD_DEPTH_MAX) return v.forEach((x, i) => walk(x, `${path}.${i}`, depth + 1));
    } else if (typeof v === 'object' && depth < HELD_DEPTH_MAX) {
      for (const [k, x] of Object.entries(v)) walk(x, `${path}.${cut(k, HELD_KEY_MAX)}`, depth + 1);
      return;
    }
    put(path, `(${Array.isArray(v) ? 'list' : typeof v})`);
  };
  walk(value, prefix, 0);
  return out;
}

const scalar = (v: string | number | boolean) => (typeof v === 'string' ? cut(v) : v);
const cut = (s: string, max = HELD_VALUE_MAX) => (s.length > max ? `${s.slice(0, max)}…` : s);
