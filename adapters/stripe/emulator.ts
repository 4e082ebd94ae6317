import { createHash, randomBytes } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse, Holding, PartnerEmulator } from '../../src/emulator.ts';

/**
 * The part of Stripe's API the adapter uses: customers create / update / retrieve / delete, with
 * form-encoded bodies, Bearer keys, Idempotency-Key replay and Stripe's error JSON.
 */

interface Customer {
  id: string;
  created: number;
  name: string | null;
  email: string | null;
  phone: string | null;
  description: string | null;
  address: Record<string, string> | null;
  metadata: Record<string, string>;
}

const WRITABLE = new Set(['name', 'email', 'phone', 'description']);
const ADDRESS_PARTS = new Set(['line1', 'line2', 'postal_code', 'city', 'state', 'country']);
/** maxLength of each parameter in Stripe's OpenAPI (PostCustomers, PostCustomersCustomer); address parts 5000. */
const MAX_LENGTH: Readonly<Record<string, number>> = { name: 256, email: 512, phone: 20, description: 5000 };
const ADDRESS_MAX_LENGTH = 5000;
/** Stripe's documented metadata limits (API reference, "Metadata"): 50 keys, keys of 40, values of 500. */
const METADATA = { keys: 50, keyLength: 40, valueLength: 500 };
const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Stripe prunes an idempotency key once it is at least 24 hours old (API reference, "Idempotent requests"). */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

export interface StripeEmulatorOptions {
  /** The emulator's clock, for tests that move past a key's 24 hours. Default: Date.now. */
  readonly now?: () => number;
}

export function createStripeEmulator(options: StripeEmulatorOptions = {}): PartnerEmulator {
  const now = options.now ?? Date.now;
  const customers = new Map<string, Customer>();
  const deleted = new Set<string>();
  // Stripe scopes keys to the account (here: the API key) and remembers the request they came with.
  const idempotent = new Map<string, { fingerprint: string; response: EmulatorResponse; at: number }>();

  function handle(req: EmulatorRequest): EmulatorResponse {
    const key = apiKey(req);
    if (key === undefined) {
      return error(401, 'invalid_request_error', undefined, 'You did not provide an API key or it is invalid.');
    }
    const idempotencyKey = header(req, 'idempotency-key');
    if (req.method !== 'POST' || idempotencyKey === undefined) return route(req);

    const slot = `${key}\u0000${idempotencyKey}`;
    const fingerprint = createHash('sha256').update(`${req.method} ${req.path}\u0000`).update(req.body).digest('hex');
    let earlier = idempotent.get(slot);
    if (earlier && now() - earlier.at >= IDEMPOTENCY_KEY_TTL_MS) {
      idempotent.delete(slot);
      earlier = undefined;
    }
    if (earlier) {
      if (earlier.fingerprint !== fingerprint) {
        return error(
          400,
          'idempotency_error',
          undefined,
          'Keys for idempotent requests can only be used with the same parameters they were first used with.',
        );
      }
      return withHeaders(earlier.response, { 'idempotent-replayed': 'true', 'idempotency-key': idempotencyKey });
    }
    const response = route(req);
    // Stripe does not save a request that failed validation before it ran.
    if (response.status !== 400) idempotent.set(slot, { fingerprint, response, at: now() });
    return withHeaders(response, { 'idempotency-key': idempotencyKey });
  }

  function route(req: EmulatorRequest): EmulatorResponse {
    if (req.path === '/v1/customers/search') return req.method === 'GET' ? search(req) : unrecognized(req);
    const match = /^\/v1\/customers(?:\/([^/]+))?$/.exec(req.path);
    if (!match) return unrecognized(req);
    const id = match[1] === undefined ? undefined : decodeURIComponent(match[1]);
    if (id === undefined) return req.method === 'POST' ? create(req) : unrecognized(req);
    switch (req.method) {
      case 'GET':
        if (deleted.has(id)) return ok({ id, object: 'customer', deleted: true });
        return withCustomer(id, (c) => ok(render(c)));
      case 'POST':
        return withCustomer(id, (c) => update(c, req));
      case 'DELETE':
        return withCustomer(id, (c) => {
          customers.delete(c.id);
          deleted.add(c.id);
          return ok({ id: c.id, object: 'customer', deleted: true });
        });
      default:
        return unrecognized(req);
    }
  }

  /**
   * Search, for the one clause the adapter uses: metadata['key']:'value' (exact match). Stripe's query
   * language has more; anything else is refused here rather than answered wrongly. The real index lags
   * writes by up to a minute; the emulator's does not (the adapter's findLagMs covers the lag).
   */
  function search(req: EmulatorRequest): EmulatorResponse {
    const query = req.query.get('query') ?? '';
    const clause = /^metadata\['([^'\\]+)'\]:'([^'\\]*)'$/.exec(query.trim());
    if (!clause) {
      return error(
        400,
        'invalid_request_error',
        'parameter_invalid',
        'The emulator supports one metadata clause.',
        'query',
      );
    }
    const [, key, value] = clause as unknown as [string, string, string];
    const data = [...customers.values()].filter((c) => c.metadata[key] === value).map(render);
    return ok({ object: 'search_result', url: '/v1/customers/search', has_more: false, next_page: null, data });
  }

  function create(req: EmulatorRequest): EmulatorResponse {
    const parsed = parseParams(req.body);
    if ('error' in parsed) return parsed.error;
    let id: string;
    do id = `cus_${randomId(14)}`;
    while (customers.has(id) || deleted.has(id));
    const customer: Customer = {
      id,
      created: Math.floor(now() / 1000),
      name: null,
      email: null,
      phone: null,
      description: null,
      address: null,
      metadata: {},
    };
    apply(customer, parsed.params);
    customers.set(id, customer);
    return ok(render(customer));
  }

  function update(customer: Customer, req: EmulatorRequest): EmulatorResponse {
    const parsed = parseParams(req.body);
    if ('error' in parsed) return parsed.error;
    apply(customer, parsed.params);
    return ok(render(customer));
  }

  function withCustomer(id: string, then: (c: Customer) => EmulatorResponse): EmulatorResponse {
    const customer = customers.get(id);
    return customer
      ? then(customer)
      : error(404, 'invalid_request_error', 'resource_missing', `No such customer: '${id}'`, 'id');
  }

  return {
    partner: 'stripe',
    limits: { perSecond: 25 }, // test mode; live mode allows 100
    handle,
    rateLimited: (retryAfterSeconds) => ({
      ...error(
        429,
        'invalid_request_error',
        'rate_limit',
        'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
      ),
      headers: { ...stripeHeaders(), 'retry-after': String(retryAfterSeconds) },
    }),
    holdings() {
      const out: Record<string, Holding> = {};
      for (const c of customers.values()) {
        const personal: Record<string, unknown> = Object.fromEntries(
          (['name', 'email', 'phone', 'description'] as const).flatMap((k) => (c[k] ? [[k, c[k]]] : [])),
        );
        if (c.address && Object.keys(c.address).length > 0) personal.address = { ...c.address };
        out[c.id] = { personal, meta: { metadata: { ...c.metadata }, created: c.created, livemode: false } };
      }
      return out;
    },
    reset() {
      customers.clear();
      deleted.clear();
      idempotent.clear();
    },
  };
}

type Params = {
  fields: Map<string, string>;
  address: Map<string, string>;
  metadata: Map<string, string>;
  /** `address=` (an empty string): Stripe unsets the whole address. */
  clearAddress: boolean;
  /** `metadata=`: Stripe unsets every metadata key. */
  clearMetadata: boolean;
};

/** Stripe's bracket form encoding, the one level of it customers use: metadata[key]=value. */
function parseParams(body: Buffer): { params: Params } | { error: EmulatorResponse } {
  const params: Params = {
    fields: new Map(),
    address: new Map(),
    metadata: new Map(),
    clearAddress: false,
    clearMetadata: false,
  };
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) {
    if (name === 'metadata') {
      // `metadata=` (an empty string) unsets every key; any other plain value is not an object.
      if (value !== '')
        return { error: error(400, 'invalid_request_error', 'parameter_invalid_string', 'Invalid object', 'metadata') };
      params.clearMetadata = true;
      continue;
    }
    if (name === 'address') {
      // An object parameter takes only an empty string (unset) as a plain value.
      if (value !== '')
        return { error: error(400, 'invalid_request_error', 'parameter_invalid_string', 'Invalid object', 'address') };
      params.clearAddress = true;
      continue;
    }
    const nested = /^(metadata|address)\[([^\]]+)\]$/.exec(name);
    if (nested?.[1] === 'metadata' && nested[2] !== undefined) params.metadata.set(nested[2], value);
    else if (nested?.[1] === 'address' && nested[2] !== undefined && ADDRESS_PARTS.has(nested[2])) {
      params.address.set(nested[2], value);
    } else if (WRITABLE.has(name)) params.fields.set(name, value);
    else {
      // Stripe names the parameter as sent, nested part included (address[street]).
      return {
        error: error(400, 'invalid_request_error', 'parameter_unknown', `Received unknown parameter: ${name}`, name),
      };
    }
  }
  const tooLong = lengthError(params);
  return tooLong ? { error: tooLong } : { params };
}

/**
 * Stripe refuses a string longer than its parameter allows. Its own messages quote the string;
 * these do not, so no test's personal value ends up in an emulator's answer.
 */
function lengthError({ fields, address, metadata }: Params): EmulatorResponse | undefined {
  const invalid = (param: string, max: number) =>
    error(400, 'invalid_request_error', undefined, `Invalid string: must be at most ${max} characters`, param);
  for (const [name, value] of fields) {
    const max = MAX_LENGTH[name];
    if (max !== undefined && value.length > max) return invalid(name, max);
  }
  for (const [part, value] of address) {
    if (value.length > ADDRESS_MAX_LENGTH) return invalid(`address[${part}]`, ADDRESS_MAX_LENGTH);
  }
  const metadataError = (message: string) => error(400, 'invalid_request_error', undefined, message, 'metadata');
  if (metadata.size > METADATA.keys) return metadataError(`Invalid metadata: at most ${METADATA.keys} keys`);
  for (const [key, value] of metadata) {
    if (key.length > METADATA.keyLength)
      return metadataError(`Invalid key: must be a string under ${METADATA.keyLength} characters`);
    if (value.length > METADATA.valueLength)
      return metadataError(`Invalid val: must be a string under ${METADATA.valueLength} characters`);
  }
  return undefined;
}

function apply(customer: Customer, { fields, address, metadata, clearAddress, clearMetadata }: Params): void {
  if (clearMetadata) customer.metadata = {};
  for (const [name, value] of fields) {
    // An empty string unsets a field in Stripe's API.
    customer[name as 'name' | 'email' | 'phone' | 'description'] = value === '' ? null : value;
  }
  if (clearAddress) customer.address = null;
  if (address.size > 0) customer.address = Object.fromEntries([...address].filter(([, v]) => v !== ''));
  for (const [key, value] of metadata) {
    if (value === '') delete customer.metadata[key];
    else customer.metadata[key] = value;
  }
}

function render(c: Customer): Record<string, unknown> {
  return {
    id: c.id,
    object: 'customer',
    address: c.address
      ? { line1: null, line2: null, postal_code: null, city: null, state: null, country: null, ...c.address }
      : null,
    balance: 0,
    created: c.created,
    currency: null,
    default_source: null,
    delinquent: false,
    description: c.description,
    email: c.email,
    invoice_prefix: c.id.slice(4, 12).toUpperCase(),
    livemode: false,
    metadata: { ...c.metadata },
    name: c.name,
    phone: c.phone,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
}

function apiKey(req: EmulatorRequest): string | undefined {
  const match = /^Bearer\s+((?:sk|rk)_test_\S+)$/.exec(header(req, 'authorization') ?? '');
  return match?.[1];
}

function header(req: EmulatorRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function ok(body: Record<string, unknown>): EmulatorResponse {
  return { status: 200, headers: stripeHeaders(), body };
}

function error(
  status: number,
  type: string,
  code: string | undefined,
  message: string,
  param?: string,
): EmulatorResponse {
  return {
    status,
    headers: stripeHeaders(),
    body: { error: { type, ...(code ? { code } : {}), message, ...(param ? { param } : {}) } },
  };
}

function unrecognized(req: EmulatorRequest): EmulatorResponse {
  return error(404, 'invalid_request_error', undefined, `Unrecognized request URL (${req.method}: ${req.path}).`);
}

function withHeaders(response: EmulatorResponse, headers: Record<string, string>): EmulatorResponse {
  return { ...response, headers: { ...response.headers, ...headers } };
}

function stripeHeaders(): Record<string, string> {
  return { 'request-id': `req_${randomId(14)}`, 'content-type': 'application/json' };
}

function randomId(length: number): string {
  return Array.from(randomBytes(length), (b) => ALPHANUM[b % ALPHANUM.length]).join('');
}
