import { randomUUID } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse, Holding, PartnerEmulator } from '../../src/emulator.ts';

/** The token the emulator accepts unless told otherwise; sandboxOptions() hands it to the adapter. */
export const INTERCOM_SANDBOX_TOKEN = 'sandbox-intercom-token';

/** 10,000 calls a minute per app, enforced in 10-second windows. */
const WINDOW_MAX = Math.ceil(10_000 / 6);

/**
 * The attributes a create or an update takes (create_contact_request / update_contact_request of
 * Intercom's OpenAPI 2.14), with their types: role, external_id and email are not nullable, so
 * `email: null` cannot wipe an address; phone, name and the rest may be null.
 */
const WRITABLE: Readonly<
  Record<string, { readonly type: 'string' | 'integer' | 'boolean' | 'object'; readonly nullable: boolean }>
> = {
  role: { type: 'string', nullable: false },
  external_id: { type: 'string', nullable: false },
  email: { type: 'string', nullable: false },
  phone: { type: 'string', nullable: true },
  name: { type: 'string', nullable: true },
  avatar: { type: 'string', nullable: true },
  signed_up_at: { type: 'integer', nullable: true },
  last_seen_at: { type: 'integer', nullable: true },
  owner_id: { type: 'integer', nullable: true },
  unsubscribed_from_emails: { type: 'boolean', nullable: true },
  custom_attributes: { type: 'object', nullable: true },
};

function typeProblem(key: string, value: unknown): string | undefined {
  const spec = WRITABLE[key];
  if (spec === undefined) return `${key} is not a valid parameter`;
  if (value === null) return spec.nullable ? undefined : `${key} cannot be null`;
  const ok =
    spec.type === 'integer'
      ? Number.isInteger(value)
      : spec.type === 'object'
        ? typeof value === 'object' && !Array.isArray(value)
        : typeof value === spec.type;
  return ok ? undefined : `${key} must be ${spec.type === 'integer' ? 'an integer' : `a ${spec.type}`}`;
}

interface Contact {
  id: string;
  role: string;
  external_id: string | null;
  email: string | null;
  phone: string | null;
  name: string | null;
  archived: boolean;
  created_at: number;
  updated_at: number;
  last_seen_at?: number;
  /** The workspace's own data attributes, set through the API (the app, Intercom's integrations). */
  custom_attributes: Record<string, unknown>;
  /** What the Messenger records when the contact uses it: where from (by IP) and on what. */
  seen: MessengerVisit;
}

export interface MessengerVisit {
  readonly location?: { readonly country?: string; readonly region?: string; readonly city?: string };
  readonly browser?: string;
  readonly browser_language?: string;
  readonly os?: string;
}

export type IntercomEmulator = PartnerEmulator & {
  /** The contact opens the Messenger in the app: Intercom records location, browser and time itself. */
  seenInMessenger(email: string, visit: MessengerVisit): boolean;
};

export interface IntercomEmulatorOptions {
  readonly accessToken?: string;
}

export function createIntercomEmulator(options: IntercomEmulatorOptions = {}): IntercomEmulator {
  const token = options.accessToken ?? INTERCOM_SANDBOX_TOKEN;
  const contacts = new Map<string, Contact>();
  let next = 1;

  const byExternalId = (externalId: string) => [...contacts.values()].find((c) => c.external_id === externalId);

  function write(contact: Contact, body: Record<string, unknown>): EmulatorResponse | undefined {
    for (const [key, value] of Object.entries(body)) {
      const problem = typeProblem(key, value);
      if (problem) return error(400, 'parameter_invalid', problem, key);
    }
    if (body.role !== undefined && body.role !== 'user' && body.role !== 'lead') {
      return error(400, 'parameter_invalid', 'role must be user or lead');
    }
    const externalId = body.external_id;
    if (typeof externalId === 'string') {
      const other = byExternalId(externalId);
      if (other && other.id !== contact.id) {
        return error(409, 'conflict', `A contact matching those details already exists with id=${other.id}`);
      }
    }
    for (const key of ['role', 'external_id', 'email', 'phone', 'name'] as const) {
      const value = body[key];
      // Only phone and name can be null here (see WRITABLE).
      if (value === null && (key === 'phone' || key === 'name')) contact[key] = null;
      else if (typeof value === 'string') contact[key] = value;
    }
    // Custom attributes are merged key by key; a key set to null is cleared.
    if (body.custom_attributes !== undefined && body.custom_attributes !== null) {
      const merged = { ...contact.custom_attributes, ...(body.custom_attributes as Record<string, unknown>) };
      contact.custom_attributes = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== null));
    }
    contact.updated_at = now();
    return undefined;
  }

  function route(req: EmulatorRequest): EmulatorResponse {
    const segments = req.path.split('/').filter(Boolean).map(decodeURIComponent);
    if (segments[0] !== 'contacts') return error(404, 'not_found', 'Resource Not Found');
    const [, first, second] = segments;

    if (req.method === 'POST' && segments.length === 1) {
      const body = json(req);
      if (!body) return error(400, 'parameter_invalid', 'Request body must be a JSON object');
      if (body.email === undefined && body.external_id === undefined && body.role === undefined) {
        return error(400, 'parameter_not_found', 'role, email or external_id is required');
      }
      const contact: Contact = {
        id: (next++).toString(16).padStart(24, '0'),
        role: 'user',
        external_id: null,
        email: null,
        phone: null,
        name: null,
        archived: false,
        created_at: now(),
        updated_at: now(),
        custom_attributes: {},
        seen: {},
      };
      const failed = write(contact, body);
      if (failed) return failed;
      contacts.set(contact.id, contact);
      return { status: 200, body: render(contact) };
    }

    if (req.method === 'GET' && first === 'find_by_external_id' && second !== undefined && segments.length === 3) {
      const contact = byExternalId(second);
      return contact ? { status: 200, body: render(contact) } : error(404, 'not_found', 'User Not Found');
    }

    const contact = first === undefined ? undefined : contacts.get(first);
    if (segments.length === 2 && ['GET', 'PUT', 'DELETE'].includes(req.method)) {
      if (!contact) return error(404, 'not_found', 'Contact Not Found');
      if (req.method === 'GET') return { status: 200, body: render(contact) };
      if (req.method === 'DELETE') {
        contacts.delete(contact.id);
        return {
          status: 200,
          body: { id: contact.id, external_id: contact.external_id, type: 'contact', deleted: true },
        };
      }
      const body = json(req);
      if (!body) return error(400, 'parameter_invalid', 'Request body must be a JSON object');
      return write(contact, body) ?? { status: 200, body: render(contact) };
    }

    // ArchiveContact / UnarchiveContact (API 2.x): contact_archived / contact_unarchived.
    if (req.method === 'POST' && (second === 'archive' || second === 'unarchive') && segments.length === 3) {
      if (!contact) return error(404, 'not_found', 'Contact Not Found');
      contact.archived = second === 'archive';
      contact.updated_at = now();
      return {
        status: 200,
        body: { id: contact.id, external_id: contact.external_id, type: 'contact', archived: contact.archived },
      };
    }
    return error(404, 'not_found', 'Resource Not Found');
  }

  return {
    partner: 'intercom',
    limits: { window: { ms: 10_000, max: WINDOW_MAX } },

    handle(req) {
      if (req.headers.authorization !== `Bearer ${token}`) return error(401, 'unauthorized', 'Access Token Invalid');
      // The real API falls back to the app's default version; the emulator insists, so a missing header shows.
      const version = req.headers['intercom-version'];
      if (typeof version !== 'string' || !/^(\d+\.\d+|Unstable)$/.test(version)) {
        return error(400, 'intercom_version_invalid', 'The Intercom-Version header is missing or invalid');
      }
      return route(req);
    },

    rateLimited(retryAfterSeconds) {
      return {
        status: 429,
        headers: {
          'retry-after': String(retryAfterSeconds),
          'x-ratelimit-limit': String(WINDOW_MAX),
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(now() + retryAfterSeconds),
        },
        body: errorList('rate_limit_exceeded', `Exceeded rate limit of ${WINDOW_MAX} in 10_seconds`),
      };
    },

    holdings() {
      const out: Record<string, Holding> = {};
      for (const c of contacts.values()) {
        const personal: Record<string, unknown> = Object.fromEntries(
          (['name', 'email', 'phone'] as const).filter((k) => c[k]).map((k) => [k, c[k]]),
        );
        if (Object.keys(c.custom_attributes).length > 0) personal.custom_attributes = c.custom_attributes;
        if (c.seen.location) personal.location = c.seen.location;
        for (const k of ['browser', 'browser_language', 'os'] as const) if (c.seen[k]) personal[k] = c.seen[k];
        out[c.id] = {
          personal,
          meta: {
            external_id: c.external_id,
            role: c.role,
            archived: c.archived,
            created_at: c.created_at,
            updated_at: c.updated_at,
          },
        };
      }
      return out;
    },

    seenInMessenger(email, visit) {
      const contact = [...contacts.values()].find((c) => c.email === email);
      if (!contact) return false;
      contact.seen = { ...contact.seen, ...visit };
      contact.last_seen_at = now();
      return true;
    },

    reset() {
      contacts.clear();
      next = 1;
    },
  };
}

function render(c: Contact): Record<string, unknown> {
  return {
    type: 'contact',
    id: c.id,
    workspace_id: 'sandbox',
    external_id: c.external_id,
    role: c.role,
    email: c.email,
    phone: c.phone,
    name: c.name,
    avatar: null,
    owner_id: null,
    created_at: c.created_at,
    updated_at: c.updated_at,
    signed_up_at: null,
    last_seen_at: c.last_seen_at ?? null,
    browser: c.seen.browser ?? null,
    browser_language: c.seen.browser_language ?? null,
    os: c.seen.os ?? null,
    location: {
      type: 'location',
      country: c.seen.location?.country ?? null,
      region: c.seen.location?.region ?? null,
      city: c.seen.location?.city ?? null,
    },
    custom_attributes: c.custom_attributes,
  };
}

function json(req: EmulatorRequest): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(req.body.toString('utf8') || '{}');
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const now = () => Math.floor(Date.now() / 1000);

function errorList(code: string, message: string, field?: string) {
  return { type: 'error.list', request_id: randomUUID(), errors: [{ code, message, ...(field ? { field } : {}) }] };
}

function error(status: number, code: string, message: string, field?: string): EmulatorResponse {
  return { status, body: errorList(code, message, field) };
}
