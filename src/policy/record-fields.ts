/**
 * The master-record fields a policy category may name, read from the record schema itself
 * (src/record.ts), so a policy can name only fields the minimiser can actually find: a typo such as
 * `emial` would otherwise be accepted, the category silently never sent, and the notice would still
 * say it is.
 */
import type { z } from 'zod';
import { masterRecordSchema } from '../record.ts';

/**
 * Record fields that are the gateway's bookkeeping, not data about the person to share: why each may
 * never be a category field.
 */
const bookkeeping: Readonly<Record<string, string>> = {
  id: 'is the internal customer id, which never leaves the company (partners get a per-partner pseudonym)',
  partnerIds: 'holds the ids partners gave us, which the gateway passes as the partner’s own ids, never as data',
  devices: 'lists the host’s device ids, bookkeeping for erasure, not data sent to partners',
  subscription: 'drives when erasure falls due; it is not data sent to partners',
};

interface Def {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly out?: z.ZodType;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Leaf paths of plain values (what the minimiser copies), through optional/default/pipe wrappers. */
function leafPaths(schema: z.ZodType, prefix: string): string[] {
  const def = defOf(schema);
  if (def.type === 'object' && def.shape)
    return Object.entries(def.shape).flatMap(([key, value]) => leafPaths(value, prefix ? `${prefix}.${key}` : key));
  if (def.innerType) return leafPaths(def.innerType, prefix);
  if (def.type === 'pipe' && def.out && def.in) {
    const out = leafPaths(def.out, prefix);
    return out.length > 0 ? out : leafPaths(def.in, prefix);
  }
  return ['string', 'number', 'boolean', 'enum', 'literal'].includes(def.type) ? [prefix] : [];
}

let cached: readonly string[] | undefined;

/** Every field path a category may name, in record order: name.given, name.family, address.street... */
export function categoryFieldPaths(): readonly string[] {
  cached ??= Object.freeze(
    leafPaths(masterRecordSchema as unknown as z.ZodType, '').filter((p) => !bookkeeping[p.split('.')[0]!]),
  );
  return cached;
}

/** Why `path` cannot be a category field, or undefined when it can. Never echoes more than the path. */
export function fieldPathProblem(path: string): string | undefined {
  const root = path.split('.')[0]!;
  const reason = Object.hasOwn(bookkeeping, root) ? bookkeeping[root] : undefined;
  if (reason) return `${root === path ? path : `${path}: ${root}`} ${reason}`;
  if (categoryFieldPaths().includes(path)) return undefined;
  const parent = categoryFieldPaths().filter((p) => p.startsWith(`${path}.`));
  if (parent.length > 0) return `${path} is a group of fields: name each (${parent.join(', ')})`;
  return `${path} is not a field of the master record (src/record.ts); category fields are ${categoryFieldPaths().join(', ')}`;
}
