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
