/**
 * What a partner returned for the subject, as the access report lists it: every leaf as a dotted path
 * with its value in words, and the policy category it is, or none, which the report flags: a field
 * the policy does not cover is exactly what the subject (and we) must see.
 */
import type { Policy } from '../policy/index.ts';
import type { LiveItem } from './types.ts';

export function liveItems(policy: Policy, partner: string, fields: Readonly<Record<string, unknown>>): LiveItem[] {
  const p = policy.partner(partner);
  const allowed = new Set([...p.sends, ...p.collects]);
  return flatten(fields).map(([path, value]) => {
    const category = policy.categoryOfHeldField(partner, path) ?? null;
    return { path, value, category, outsidePolicy: category !== null && !allowed.has(category) };
  });
}

/** Nested values as dotted paths (array items by index) with printable values, in a stable order. */
export function flatten(value: unknown, prefix = ''): [string, string][] {
  if (value === undefined || value === null || value === '') return [];
  if (value instanceof Date) return [[prefix, value.toISOString()]];
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const printable = value.filter((v) => v !== null && v !== undefined && v !== '').map(String);
      return printable.length > 0 ? [[prefix, printable.join(', ')]] : [];
    }
    return value.flatMap((v, i) => flatten(v, prefix ? `${prefix}.${i}` : String(i)));
  }
  if (typeof value === 'object') {
    return Object.keys(value)
      .sort()
      .flatMap((key) => flatten((value as Record<string, unknown>)[key], prefix ? `${prefix}.${key}` : key));
  }
  return [[prefix, String(value)]];
}
