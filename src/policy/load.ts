import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isAlias, isMap, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { canonicalJson } from '../canonical-json.ts';
import {
  own,
  policySchema,
  type LegalBasis,
  type PartnerPolicy,
  type PolicyDocument,
  type PolicyDocumentInput,
} from './schema.ts';

export const defaultPolicyPath = fileURLToPath(new URL('../../config/policy.yaml', import.meta.url));

/**
 * YAML aliases expand in place, so a few lines can stand for gigabytes (a "billion laughs"). A policy
 * reuses a block a handful of times at most (one transfer safeguard for every US partner).
 */
const MAX_ALIAS_COUNT = 50;

/** A loaded, validated, frozen policy with the per-partner facts the core asks for, precomputed. */
export interface Policy {
  readonly document: PolicyDocument;
  /** sha256 of the canonical JSON of the document: stamped on every log row. */
  readonly digest: string;
  readonly source: string;
  readonly partnerNames: readonly string[];
  partner(name: string): PartnerPolicy;
  /** The record fields a partner may receive, in policy order. */
  allowedFields(partner: string): readonly string[];
  /** field path -> category name, for every field the policy maps. */
  categoryOfField(field: string): string | undefined;
  /**
   * The category of a field in what a partner returns (dotted path): a record field, a path the
   * partner's `partnerFields` names (or under one), or a path under a category's own name
   * ('ip_address.1234'). Undefined: the policy does not cover it.
   */
  categoryOfHeldField(partner: string, path: string): string | undefined;
  legalBasis(partner: string): LegalBasis;
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(`invalid policy ${source}:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

export function loadPolicyFile(path: string = defaultPolicyPath): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PolicyError(path, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  return parsePolicy(text, path);
}

/** Parses and validates policy YAML; every problem names the source, the path in it, its line and what is wrong. */
export function parsePolicy(text: string, source = '(inline policy)'): Policy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PolicyError(
      source,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
      }),
    );
  }
  const plain = toPlain(doc, lineCounter, source);
  const reserved = protoKeys(plain);
  if (reserved.length > 0)
    throw new PolicyError(
      source,
      reserved.map((path) => {
        const line = lineOf(doc, lineCounter, path.slice(0, -1));
        return `${path.join('.')}${line ? ` (line ${line})` : ''}: __proto__ is a reserved name and cannot be a key`;
      }),
    );
  const result = policySchema.safeParse(plain);
  if (!result.success) {
    throw new PolicyError(
      source,
      result.error.issues.map((issue) => {
        const path = issue.path.map(String);
        const line = lineOf(doc, lineCounter, path);
        return `${path.join('.') || '(document)'}${line ? ` (line ${line})` : ''}: ${issueMessage(issue)}`;
      }),
    );
  }
  return build(result.data, source);
}

/**
 * A policy from a document built in code. It is validated exactly as a file is (schema, camera guard,
 * field paths, references), so no way into the gateway skips a check; the problems name the path in
 * the document (there are no lines to name).
 */
export function fromDocument(document: PolicyDocument | PolicyDocumentInput, source = '(policy object)'): Policy {
  return build(validate(document, source), source);
}

/**
 * Every form a policy can be handed in, validated: a path to a YAML file (default: config/policy.yaml),
 * a document, or a Policy. A Policy this module built is taken as it is (it is frozen); any other
 * object that looks like one is rebuilt from its document, so a hand-made Policy cannot bring an
 * unchecked document, a wrong digest or its own allowedFields().
 */
export function resolvePolicy(input?: string | Policy | PolicyDocument | PolicyDocumentInput | null): Policy {
  if (input === undefined || input === null) return loadPolicyFile();
  if (typeof input === 'string') return loadPolicyFile(input);
  if (typeof input !== 'object') throw new PolicyError('(policy option)', [`expected a path, a document or a Policy`]);
  if (built.has(input as Policy)) return input as Policy;
  if ('document' in input && 'digest' in input) {
    const policy = input as Policy;
    return fromDocument(policy.document, typeof policy.source === 'string' ? policy.source : '(policy object)');
  }
  return fromDocument(input as PolicyDocumentInput);
}

/** Policies this module built (validated, frozen): resolvePolicy() passes them through. */
const built = new WeakSet<Policy>();

function validate(document: unknown, source: string): PolicyDocument {
  // A document built in code may carry prototypes, getters or cycles: validate a plain copy of it.
  let plain: unknown;
  try {
    plain = structuredClone(document);
  } catch (error) {
    throw new PolicyError(source, [`the document is not plain data (${(error as Error).name})`]);
  }
  const reserved = protoKeys(plain);
  if (reserved.length > 0)
    throw new PolicyError(
      source,
      reserved.map((path) => `${path.join('.')}: __proto__ is a reserved name and cannot be a key`),
    );
  const result = policySchema.safeParse(plain);
  if (!result.success) {
    throw new PolicyError(
      source,
      result.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(document)'}: ${issueMessage(issue)}`),
    );
  }
  return result.data;
}

function build(document: z.output<typeof policySchema>, source: string): Policy {
  const frozen = deepFreeze(structuredClone(document));
  const digest = createHash('sha256').update(canonicalJson(frozen)).digest('hex');
  const fieldCategory = new Map<string, string>();
  for (const [name, category] of Object.entries(frozen.categories))
    for (const f of category.fields) fieldCategory.set(f, name);
  const allowed = new Map<string, readonly string[]>();
  for (const [name, partner] of Object.entries(frozen.partners)) {
    allowed.set(name, Object.freeze(partner.sends.flatMap((c) => own(frozen.categories, c)?.fields ?? [])));
  }
  const partnerPolicy = (name: string): PartnerPolicy => {
    const p = own(frozen.partners, name);
    if (!p) throw new Error(`partner ${name} is not in the policy`);
    return p;
  };
  const categoryOfHeldField = (partner: string, path: string): string | undefined => {
    const direct = fieldCategory.get(path);
    if (direct) return direct;
    const segments = path.split('.');
    const aliases = partnerPolicy(partner).partnerFields;
    // The longest prefix the partner's mapping names: 'location.latitude' under 'location'.
    for (let n = segments.length; n > 0; n--) {
      const mapped = own(aliases, segments.slice(0, n).join('.'));
      if (mapped) return mapped;
    }
    return own(frozen.categories, segments[0]!) ? segments[0] : undefined;
  };
  const policy: Policy = Object.freeze({
    document: frozen,
    digest,
    source,
    partnerNames: Object.freeze(Object.keys(frozen.partners)),
    partner: partnerPolicy,
    allowedFields: (name: string) => allowed.get(name) ?? partnerPolicy(name).sends,
    categoryOfField: (field: string) => fieldCategory.get(field),
    categoryOfHeldField,
    legalBasis: (name: string) => {
      const purpose = own(frozen.purposes, partnerPolicy(name).purpose);
      if (!purpose) throw new Error(`partner ${name} names an unknown purpose`);
      return purpose.legalBasis;
    },
  });
  built.add(policy);
  return policy;
}

/**
 * The YAML as plain data. yaml throws a ReferenceError for an alias bomb (too many expansions) and an
 * alias with no anchor before it: both become a PolicyError naming the line of the alias.
 */
function toPlain(doc: Document, counter: LineCounter, source: string): unknown {
  const aliases: { line: number; name: string; resolved: boolean }[] = [];
  visit(doc, {
    Alias(_, node) {
      const start = node.range?.[0];
      aliases.push({
        line: start === undefined ? 0 : counter.linePos(start).line,
        name: node.source,
        resolved: node.resolve(doc) !== undefined,
      });
    },
  });
  const unresolved = aliases.filter((a) => !a.resolved);
  if (unresolved.length > 0)
    throw new PolicyError(
      source,
      unresolved.map((a) => `line ${a.line}: alias *${safeName(a.name)} has no anchor &${safeName(a.name)} before it`),
    );
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    const first = aliases[0];
    throw new PolicyError(source, [
      `${first ? `line ${first.line}: ` : ''}aliases expand to more than ${MAX_ALIAS_COUNT} copies (a YAML alias bomb?): write the blocks out or reuse fewer`,
    ]);
  }
}

/** zod reports a bad record key as "Invalid key in record": say what is wrong with the key. */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues.length > 0)
    return `key ${issue.issues.map((i) => i.message).join('; ')}`;
  return issue.message;
}

/**
 * Paths of own `__proto__` keys (YAML and JSON.parse make them own properties). zod's records drop
 * such a key without a word, so a partner or category of that name would vanish from the policy.
 */
function protoKeys(value: unknown, path: string[] = [], seen = new Set<object>()): string[][] {
  if (value === null || typeof value !== 'object' || seen.has(value)) return [];
  seen.add(value);
  const found: string[][] = Object.hasOwn(value, '__proto__') ? [[...path, '__proto__']] : [];
  for (const [key, child] of Object.entries(value)) found.push(...protoKeys(child, [...path, key], seen));
  return found;
}

function safeName(name: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(name) ? name : '(anchor)';
}

function lineOf(doc: Document, counter: LineCounter, path: string[]): number | undefined {
  // Walk down as far as the path exists: a missing key is reported at its parent.
  let node: unknown = doc.contents;
  let found: unknown = node;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) node = node.get(segment, true);
    else if (isSeq(node)) node = node.get(Number(segment), true);
    else break;
    if (node === undefined) break;
    found = node;
  }
  const range = (found as { range?: [number, number, number] } | undefined)?.range;
  return range ? counter.linePos(range[0]).line : undefined;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
