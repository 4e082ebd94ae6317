import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { canonicalJson } from '../canonical-json.ts';
import { policySchema, type LegalBasis, type PartnerPolicy, type PolicyDocument } from './schema.ts';

export const defaultPolicyPath = fileURLToPath(new URL('../../config/policy.yaml', import.meta.url));

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
  const result = policySchema.safeParse(doc.toJS());
  if (!result.success) {
    throw new PolicyError(
      source,
      result.error.issues.map((issue) => {
        const path = issue.path.map(String);
        const line = lineOf(doc, lineCounter, path);
        return `${path.join('.') || '(document)'}${line ? ` (line ${line})` : ''}: ${issue.message}`;
      }),
    );
  }
  return fromDocument(result.data, source);
}

export function fromDocument(document: PolicyDocument, source = '(policy object)'): Policy {
  const frozen = deepFreeze(structuredClone(document));
  const digest = createHash('sha256').update(canonicalJson(frozen)).digest('hex');
  const fieldCategory = new Map<string, string>();
  for (const [name, category] of Object.entries(frozen.categories))
    for (const f of category.fields) fieldCategory.set(f, name);
  const allowed = new Map<string, readonly string[]>();
  for (const [name, partner] of Object.entries(frozen.partners)) {
    allowed.set(name, Object.freeze(partner.sends.flatMap((c) => frozen.categories[c]?.fields ?? [])));
  }
  const partnerPolicy = (name: string): PartnerPolicy => {
    const p = frozen.partners[name];
    if (!p) throw new Error(`partner ${name} is not in the policy`);
    return p;
  };
  return Object.freeze({
    document: frozen,
    digest,
    source,
    partnerNames: Object.freeze(Object.keys(frozen.partners)),
    partner: partnerPolicy,
    allowedFields: (name: string) => allowed.get(name) ?? partnerPolicy(name).sends,
    categoryOfField: (field: string) => fieldCategory.get(field),
    legalBasis: (name: string) => {
      const purpose = frozen.purposes[partnerPolicy(name).purpose];
      if (!purpose) throw new Error(`partner ${name} names an unknown purpose`);
      return purpose.legalBasis;
    },
  });
}

function lineOf(doc: Document, counter: LineCounter, path: string[]): number | undefined {
  // Walk down as far as the path exists: a missing key is reported at its parent.
  let node: unknown = doc.contents;
  let found: unknown = node;
  for (const segment of path) {
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
