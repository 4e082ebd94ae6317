import type { EmulatorRequest, EmulatorResponse, Holding, PartnerEmulator } from '../../src/emulator.ts';

/** The token the emulator accepts unless told otherwise; sandboxOptions() hands it to the adapter. */
export const ELOGISTIK_SANDBOX_TOKEN = 'sandbox-elogistik-token';

interface Address {
  street: string;
  postalCode: string;
  city: string;
  country: string;
}

interface Customer {
  name: string;
  address: Address;
  phone?: string;
  email?: string;
  createdAt: string;
  updatedAt: string;
}

const TOP = ['name', 'address', 'phone', 'email'];
const ADDRESS = ['street', 'postalCode', 'city', 'country'];
// A parcel cannot go out without a name and an address; phone and email only help the courier.
const REQUIRED = ['name', 'address'];

export interface ElogistikEmulatorOptions {
  readonly token?: string;
}

export function createElogistikEmulator(options: ElogistikEmulatorOptions = {}): PartnerEmulator {
  const token = options.token ?? ELOGISTIK_SANDBOX_TOKEN;
  const customers = new Map<string, Customer>();

  function route(req: EmulatorRequest): EmulatorResponse {
    const match = /^\/v1\/customers\/([^/]+)$/.exec(req.path);
    const ref = match?.[1] === undefined ? undefined : safeDecode(match[1]);
    if (ref === undefined) return error(404, 'not_found', 'no such resource');
    const existing = customers.get(ref);

    if (req.method === 'GET')
      return existing ? { status: 200, body: render(ref, existing) } : error(404, 'not_found', 'customer not found');
    if (req.method === 'DELETE') {
      if (!existing) return error(404, 'not_found', 'customer not found');
      customers.delete(ref);
      return { status: 204 };
    }
    if (req.method !== 'PUT') return error(405, 'method_not_allowed', 'use GET, PUT or DELETE');

    const parsed = validate(req.body);
    if ('problems' in parsed)
      return {
        status: 400,
        body: { code: 'invalid_body', message: 'the body does not match the contract', fields: parsed.problems },
      };
    const now = new Date().toISOString();
    // PUT replaces: a field left out is no longer held.
    customers.set(ref, { ...parsed.customer, createdAt: existing?.createdAt ?? now, updatedAt: now });
    return { status: existing ? 200 : 201, body: render(ref, customers.get(ref)!) };
  }

  return {
    partner: 'elogistik',
    limits: { perSecond: 50 },

    handle(req) {
      if (req.headers.authorization !== `Bearer ${token}`)
        return error(401, 'unauthorized', 'missing or invalid bearer token');
      return route(req);
    },

    rateLimited(retryAfterSeconds) {
      return {
        status: 429,
        headers: { 'retry-after': String(retryAfterSeconds) },
        body: { code: 'rate_limited', message: 'too many requests' },
      };
    },

    holdings() {
      const out: Record<string, Holding> = {};
      for (const [ref, c] of customers) {
        const personal: Record<string, unknown> = { name: c.name };
        for (const key of ADDRESS) personal[`address.${key}`] = c.address[key as keyof Address];
        if (c.phone) personal.phone = c.phone;
        if (c.email) personal.email = c.email;
        out[ref] = { personal, meta: { ref, createdAt: c.createdAt, updatedAt: c.updatedAt } };
      }
      return out;
    },

    reset() {
      customers.clear();
    },
  };
}

/** Problems name fields (paths), never values. */
function validate(raw: Buffer): { customer: Omit<Customer, 'createdAt' | 'updatedAt'> } | { problems: string[] } {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return { problems: ['(body)'] };
  }
  if (!isObject(body)) return { problems: ['(body)'] };
  const problems = [
    ...Object.keys(body).filter((k) => !TOP.includes(k)),
    ...REQUIRED.filter((k) => body[k] === undefined),
    ...['name', 'phone', 'email'].filter((k) => body[k] !== undefined && !nonBlank(body[k])),
  ];
  const address = body.address;
  if (address !== undefined) {
    if (!isObject(address)) problems.push('address');
    else {
      problems.push(
        ...Object.keys(address)
          .filter((k) => !ADDRESS.includes(k))
          .map((k) => `address.${k}`),
      );
      problems.push(...ADDRESS.filter((k) => !nonBlank(address[k])).map((k) => `address.${k}`));
    }
  }
  if (problems.length > 0) return { problems };
  return { customer: body as unknown as Omit<Customer, 'createdAt' | 'updatedAt'> };
}

function render(ref: string, c: Customer): Record<string, unknown> {
  return {
    ref,
    name: c.name,
    address: c.address,
    phone: c.phone,
    email: c.email,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonBlank = (v: unknown) => typeof v === 'string' && v.trim().length > 0;

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function error(status: number, code: string, message: string): EmulatorResponse {
  return { status, body: { code, message } };
}
