import type { PartnerPayload } from './adapter.ts';
import type { Policy } from './policy/index.ts';

/**
 * record x partner -> the payload that partner may receive. An allowlist projection: the output is
 * built only from the field paths the policy allows the partner, read one by one from the input, so
 * unknown, extra and nested fields cannot get through whatever shape the input has. Only plain
 * values (strings, finite numbers, booleans) are copied; an object where a value was expected is
 * dropped, so a nested object cannot ride along inside an allowed field.
 */
export function minimise(record: unknown, partner: string, policy: Policy): PartnerPayload {
  // Null-prototype objects: an adapter reading `payload.phone` must find only what was projected,
  // never a `phone` that something else in the process put on Object.prototype.
  const out: Record<string, unknown> = Object.create(null);
  for (const path of policy.allowedFields(partner)) {
    const value = readPath(record, path);
    if (isPlainValue(value)) writePath(out, path, value);
  }
  return dropIncompleteGroups(out, policy, partner) as PartnerPayload;
}

/** Field names (dotted paths) and categories present in a payload: what the transfer log records. */
export function describePayload(payload: PartnerPayload, policy: Policy): { fields: string[]; categories: string[] } {
  const fields: string[] = [];
  collectPaths(payload, '', fields);
  const categories = [...new Set(fields.map((f) => policy.categoryOfField(f) ?? 'unknown'))];
  return { fields, categories };
}

function readPath(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function writePath(target: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split('.');
  let current = target;
  for (const segment of segments.slice(0, -1)) {
    current[segment] ??= Object.create(null);
    current = current[segment] as Record<string, unknown>;
  }
  current[segments[segments.length - 1]!] = value;
}

function isPlainValue(value: unknown): value is string | number | boolean {
  return (
    (typeof value === 'string' && value.length > 0) ||
    (typeof value === 'number' && Number.isFinite(value)) ||
    typeof value === 'boolean'
  );
}

/**
 * A category whose fields arrive only in part (a street without a city) is sent whole or not at
 * all: partners validate structured values such as addresses, and half an address is not data.
 */
function dropIncompleteGroups(out: Record<string, unknown>, policy: Policy, partner: string): Record<string, unknown> {
  for (const categoryName of policy.partner(partner).sends) {
    const fields = policy.document.categories[categoryName]?.fields ?? [];
    const present = fields.filter((f) => readPath(out, f) !== undefined);
    if (present.length > 0 && present.length < fields.length) {
      for (const f of present) deletePath(out, f);
    }
  }
  return out;
}

function deletePath(target: Record<string, unknown>, path: string): void {
  const segments = path.split('.');
  const parents: Record<string, unknown>[] = [target];
  for (const segment of segments.slice(0, -1))
    parents.push(parents[parents.length - 1]![segment] as Record<string, unknown>);
  delete parents[parents.length - 1]![segments[segments.length - 1]!];
  for (let i = segments.length - 2; i >= 0; i--) {
    const child = parents[i + 1]!;
    if (Object.keys(child).length === 0) delete parents[i]![segments[i]!];
  }
}

function collectPaths(value: unknown, prefix: string, out: string[]): void {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) collectPaths(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out.push(prefix);
}
