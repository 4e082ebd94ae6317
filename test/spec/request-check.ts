/**
 * Checks one request an emulator received against its partner's published API definition (the
 * extracts in test/fixtures/partner-specs/): the operation must exist, and its path, query, headers,
 * authentication scheme and body must match what the spec defines. Stricter than the schemas as
 * written in one respect, on purpose: an object schema that lists its properties admits no others,
 * so an adapter that sends a field its partner never defined fails the check even where the partner
 * would silently ignore it.
 *
 * A violation names the partner, the operation and the place (a JSON pointer into the body, a query
 * parameter's name), never a value: the bodies carry personal data.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import qs from 'qs';
import type { EmulatorRequest } from '../../src/emulator.ts';
import { operationName, partnerSpec, type JsonSchema, type PartnerSpec, type SpecOperation } from './partner-specs.ts';

export interface SpecViolation {
  readonly partner: string;
  /** "METHOD /path/{template}" of the spec operation, or the request's method and path when none matched. */
  readonly operation: string;
  readonly where: 'route' | 'path' | 'query' | 'header' | 'auth' | 'body';
  readonly problem: string;
}

// ajv-formats is CommonJS with a `default` export: Node hands ESM the module object, which is callable.
const addFormats = formats as unknown as typeof formats.default;

/** Schema annotations of the extracts (where a schema came from, what was left out): not validation. */
const ANNOTATIONS = ['x-ref', 'x-open', 'x-truncated', 'x-error', 'x-note'];

/**
 * The partners' own formats, which JSON Schema does not know. Twilio (twilio-oai): phone numbers are
 * E.164; an "endpoint" is what a call may be placed to (a number, a Client identity or a SIP
 * address); TwiML is an XML document with a <Response> root; a currency is an ISO 4217 code. Formats
 * of numbers and objects (Stripe's unix-time, int64, Twilio's uri-map) and those whose grammar the
 * document does not give (RFC 2822 dates, HTTP methods, which an enum beside them constrains)
 * are accepted as they are.
 */
const PARTNER_FORMATS: Record<string, RegExp | true> = {
  'phone-number': /^\+[1-9]\d{1,14}$/,
  endpoint: /^(\+[1-9]\d{1,14}|client:[^\s]+|sip:[^\s]+)$/,
  twiml: /^\s*(<\?xml[^>]*\?>\s*)?<Response[\s/>]/,
  currency: /^[A-Za-z]{3}$/,
  'http-method': true,
  'date-time-rfc-2822': true,
  'unix-time': true,
  int64: true,
  'uri-map': true,
};

function makeAjv(coerce: boolean): Ajv {
  // allErrors: a report that lists every wrong field at once saves a round of fixes.
  // strictRequired off: the specs' oneOf / anyOf branches require properties their parent defines.
  const ajv = new Ajv({
    allErrors: true,
    // verbose gives each error its schema (the oneOf branches' titles); its data is never read.
    verbose: true,
    strict: true,
    strictTypes: false,
    strictRequired: false,
    coerceTypes: coerce ? 'array' : false,
  });
  addFormats(ajv);
  ajv.addVocabulary(ANNOTATIONS);
  for (const [name, format] of Object.entries(PARTNER_FORMATS)) ajv.addFormat(name, format);
  return ajv;
}

let ajvs: { json: Ajv; text: Ajv } | undefined;
/** JSON bodies are checked as sent; form bodies, queries, paths and headers are text, so coerced. */
const validators = () => (ajvs ??= { json: makeAjv(false), text: makeAjv(true) });

/** Every object schema that lists its properties admits only those (see the header comment). */
export function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    // `properties` maps names to schemas: close each schema, not the map itself.
    out[key] =
      key === 'properties' && typeof value === 'object' && value !== null
        ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, closed(sub)]))
        : closed(value);
  }
  if ('properties' in out && !('additionalProperties' in out) && !('patternProperties' in out)) {
    out.additionalProperties = false;
  }
  return out;
}

interface OperationValidators {
  readonly path: ValidateFunction;
  readonly query: ValidateFunction;
  readonly headers: ValidateFunction;
  readonly bodies: ReadonlyMap<string, ValidateFunction>;
}

interface CompiledOperation {
  readonly op: SpecOperation;
  readonly name: string;
  readonly pattern: RegExp;
  readonly pathNames: readonly string[];
  /** Compiled on the first request that reaches the operation: most test files reach only a few. */
  validators(): OperationValidators;
}

const compiled = new Map<string, CompiledOperation[]>();

function operationsOf(spec: PartnerSpec): CompiledOperation[] {
  let ops = compiled.get(spec.partner);
  if (ops === undefined) {
    ops = spec.operations.map(compile);
    compiled.set(spec.partner, ops);
  }
  return ops;
}

function compile(op: SpecOperation): CompiledOperation {
  const pathNames: string[] = [];
  const pattern = new RegExp(
    `^${op.path
      .split(/(\{[^}]+\})/)
      .map((part) => {
        const name = /^\{([^}]+)\}$/.exec(part)?.[1];
        if (name === undefined) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
        pathNames.push(name);
        return '([^/]+)';
      })
      .join('')}$`,
  );
  let compiledValidators: OperationValidators | undefined;
  return {
    op,
    name: operationName(op),
    pattern,
    pathNames,
    validators: () => (compiledValidators ??= compileValidators(op, pathNames)),
  };
}

function compileValidators(op: SpecOperation, pathNames: readonly string[]): OperationValidators {
  const { json, text } = validators();
  const group = (where: 'path' | 'query' | 'header', lower: boolean, open: boolean): JsonSchema => {
    const params = op.parameters.filter((p) => p.in === where);
    const key = (name: string) => (lower ? name.toLowerCase() : name);
    const properties = Object.fromEntries(params.map((p) => [key(p.name), closed(p.schema ?? {})]));
    // The hand-made extracts leave path parameters to the template: a string, as the path is.
    if (where === 'path') for (const name of pathNames) properties[name] ??= { type: 'string', minLength: 1 };
    return {
      type: 'object',
      properties,
      required: where === 'path' ? pathNames : params.filter((p) => p.required).map((p) => key(p.name)),
      // Any header may travel (user agents, content types); a query parameter must be the spec's.
      additionalProperties: open,
    };
  };
  const bodies = new Map<string, ValidateFunction>();
  for (const [type, content] of Object.entries(op.requestBody ?? {})) {
    const ajv = type === 'application/json' ? json : text;
    bodies.set(type, ajv.compile(closed(content.schema) as JsonSchema));
  }
  return {
    path: text.compile(group('path', false, false)),
    query: text.compile(group('query', false, false)),
    headers: text.compile(group('header', true, true)),
    bodies,
  };
}

export interface RequestCheckResult {
  /** The spec operation the request reached ("METHOD /path/{template}"); undefined: none, or no extract. */
  readonly operation?: string;
  /** [] when the request conforms, or its partner has no extract (a test's fake partner). */
  readonly violations: SpecViolation[];
}

export function checkRequest(partner: string, request: EmulatorRequest): RequestCheckResult {
  const spec = partnerSpec(partner);
  if (spec === undefined) return { violations: [] };
  const violations: SpecViolation[] = [];
  const report = (operation: string, where: SpecViolation['where'], problem: string) =>
    violations.push({ partner, operation, where, problem });

  const candidates = operationsOf(spec).filter((c) => c.op.method === request.method);
  let match: { compiled: CompiledOperation; values: string[] } | undefined;
  for (const c of candidates) {
    const found = c.pattern.exec(request.path);
    if (found) {
      match = { compiled: c, values: found.slice(1) };
      break;
    }
  }
  if (match === undefined) {
    // The path may quote an id or an address: name the method and the shape only.
    report(
      `${request.method} ${request.path.split('/').length - 1} segment(s)`,
      'route',
      'no operation of the spec has this method and path',
    );
    return { violations };
  }
  const { compiled: c, values } = match;
  const v = c.validators();
  const at = (where: SpecViolation['where'], problem: string) => report(c.name, where, problem);

  const pathValues = Object.fromEntries(c.pathNames.map((name, i) => [name, safeDecode(values[i] ?? '')]));
  if (!v.path(pathValues)) for (const problem of describe(v.path.errors)) at('path', problem);

  const query = fromEntries(request.query);
  if (!v.query(query)) for (const problem of describe(v.query.errors)) at('query', problem);
  if (c.op.odata) for (const problem of odataProblems(c.op.odata, request.query)) at('query', problem);

  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
  if (!v.headers(headers)) for (const problem of describe(v.headers.errors)) at('header', problem);

  if (c.op.security === undefined || c.op.security.length > 0) {
    const scheme = String(request.headers.authorization ?? '')
      .split(' ')[0]
      ?.toLowerCase();
    if (!scheme) at('auth', 'no Authorization header');
    else if (!spec.authSchemes.schemes.includes(scheme)) {
      at('auth', `scheme ${scheme} is not one the spec names (${spec.authSchemes.schemes.join(', ')})`);
    }
  }

  for (const problem of bodyProblems(v.bodies, request)) at('body', problem);
  return { operation: c.name, violations };
}

function bodyProblems(bodies: OperationValidators['bodies'], request: EmulatorRequest): string[] {
  const empty = request.body.length === 0;
  if (bodies.size === 0) return empty ? [] : ['a body was sent, but the operation takes none'];
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (empty && type === '') {
    // A bodiless request is an empty object to a form operation (Stripe's GET and DELETE).
    const form = bodies.get('application/x-www-form-urlencoded');
    if (form) return form({}) ? [] : describe(form.errors);
    const anyBody = [...bodies.values()][0]!;
    return anyBody({}) ? [] : describe(anyBody.errors);
  }
  const validate = bodies.get(type);
  if (validate === undefined)
    return [`content type ${type || '(none)'} is not one the spec takes (${[...bodies.keys()].join(', ')})`];
  let data: unknown;
  const text = request.body.toString('utf8');
  if (type === 'application/json') {
    try {
      data = JSON.parse(text);
    } catch {
      return ['the body is not JSON'];
    }
  } else {
    // Stripe's bracket form (deepObject: metadata[key]=value) and Twilio's flat form alike.
    data = qs.parse(text, { depth: 10, arrayLimit: 1000, parameterLimit: 10_000 });
  }
  return validate(data) ? [] : describe(validate.errors);
}

/** balena's OData: query options the resource takes, and fields it has in $select and $filter. */
function odataProblems(odata: NonNullable<SpecOperation['odata']>, query: URLSearchParams): string[] {
  const problems: string[] = [];
  for (const key of new Set(query.keys())) {
    if (key.startsWith('$') && !odata.allowedQuery.includes(key)) problems.push(`${key} is not a query option here`);
  }
  const fields = odata.readFields;
  if (fields === undefined) return problems;
  for (const field of (query.get('$select') ?? '').split(',').map((s) => s.trim())) {
    if (field !== '' && !fields.includes(field)) problems.push(`$select names ${field}, not a field of the resource`);
  }
  const filter = query.get('$filter');
  if (filter !== null) {
    // Identifiers only: quoted literals (which could carry values) are removed before looking.
    const identifiers = filter.replace(/'(?:[^']|'')*'/g, ' ').match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
    for (const name of new Set(identifiers)) {
      if (!ODATA_WORDS.has(name) && !fields.includes(name))
        problems.push(`$filter names ${name}, not a field of the resource`);
    }
  }
  return problems;
}

/** Operators and literals of OData's $filter grammar (odata-parser), which are not field names. */
const ODATA_WORDS = new Set([
  'eq',
  'ne',
  'gt',
  'ge',
  'lt',
  'le',
  'and',
  'or',
  'not',
  'in',
  'has',
  'add',
  'sub',
  'mul',
  'div',
  'mod',
  'true',
  'false',
  'null',
]);

/** Ajv's messages name the failing keyword and the spec's own values, never the data. */
function describe(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).flatMap((e) => describeOne(e) ?? []);
}

function describeOne(e: ErrorObject): string | undefined {
  const where = e.instancePath === '' ? '(root)' : e.instancePath;
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${where}: ${String(params.additionalProperty)} is not defined`;
  if (e.keyword === 'required') return `${where}: ${String(params.missingProperty)} is required`;
  if (e.keyword === 'enum') return `${where}: must be one of ${JSON.stringify(params.allowedValues)}`;
  if (e.keyword === 'oneOf') {
    const branches = Array.isArray(e.schema) ? (e.schema as { title?: unknown }[]) : [];
    // A oneOf of one schema (Intercom wraps its bodies so) adds nothing to that schema's own errors.
    if (branches.length === 1) return undefined;
    const titles = branches.map((b, i) => (typeof b.title === 'string' ? b.title : `#${i}`));
    const passing = params.passingSchemas as number[] | null;
    const matched = passing ? passing.map((i) => titles[i]).join(' and ') : 'none';
    return `${where}: must match exactly one of ${titles.join(' | ')}; matched ${matched}`;
  }
  return `${where}: ${e.message ?? e.keyword}`;
}

function fromEntries(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of params) {
    const earlier = out[key];
    out[key] = earlier === undefined ? value : [...(Array.isArray(earlier) ? earlier : [earlier]), value];
  }
  return out;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
