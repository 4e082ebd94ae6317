import { randomBytes } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse, Holding, PartnerEmulator } from '../../src/emulator.ts';

/**
 * The part of Auth0 the adapter uses: the client-credentials token call and the Management API's
 * users endpoints, with Bearer tokens and Auth0's {statusCode, error, message, errorCode} errors.
 * Not emulated: the nickname and picture real Auth0 derives from the email address.
 */

interface User {
  user_id: string;
  connection: string;
  email: string;
  email_verified: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  user_metadata?: Record<string, unknown>;
  app_metadata?: Record<string, unknown>;
  /** Recorded by Auth0 at each login (logIn below), never written through the API. */
  last_ip?: string;
  last_login?: string;
  logins_count?: number;
  created_at: string;
  updated_at: string;
}

const PROFILE = ['email', 'name', 'given_name', 'family_name'] as const;
// What the Management API accepts at the root of a create / an update (Auth0's payload schemas).
const CREATE_KEYS = new Set([
  'email',
  'phone_number',
  'user_metadata',
  'blocked',
  'email_verified',
  'phone_verified',
  'app_metadata',
  'given_name',
  'family_name',
  'name',
  'nickname',
  'picture',
  'user_id',
  'connection',
  'password',
  'verify_email',
  'username',
]);
const UPDATE_KEYS = new Set([
  'blocked',
  'email_verified',
  'email',
  'phone_number',
  'phone_verified',
  'user_metadata',
  'app_metadata',
  'given_name',
  'family_name',
  'name',
  'nickname',
  'picture',
  'verify_email',
  'verify_phone_number',
  'password',
  'connection',
  'client_id',
  'username',
]);

/** The machine-to-machine application the emulator knows; the token call refuses any other. */
export const AUTH0_SANDBOX_CLIENT_ID = 'sandbox-client';
export const AUTH0_SANDBOX_CLIENT_SECRET = 'sandbox-secret';

type FieldRule = {
  readonly type: 'string' | 'boolean' | 'object';
  readonly min?: number;
  readonly max?: number;
  readonly email?: boolean;
};
/**
 * The types and lengths of the users endpoints' bodies (node-auth0's Fern definition of the
 * Management API: CreateUserRequestContent, UpdateUserRequestContent). On an update the profile
 * strings may be null, which unsets them.
 */
const FIELD_RULES: Readonly<Record<string, FieldRule>> = {
  email: { type: 'string', email: true },
  phone_number: { type: 'string' },
  user_metadata: { type: 'object' },
  app_metadata: { type: 'object' },
  blocked: { type: 'boolean' },
  email_verified: { type: 'boolean' },
  phone_verified: { type: 'boolean' },
  verify_email: { type: 'boolean' },
  verify_phone_number: { type: 'boolean' },
  given_name: { type: 'string', min: 1, max: 150 },
  family_name: { type: 'string', min: 1, max: 150 },
  name: { type: 'string', min: 1, max: 300 },
  nickname: { type: 'string', min: 1, max: 300 },
  picture: { type: 'string' },
  user_id: { type: 'string', max: 255 },
  connection: { type: 'string', min: 1 },
  client_id: { type: 'string', min: 1 },
  password: { type: 'string', min: 1 },
  username: { type: 'string', min: 1, max: 128 },
};
/** What an update may set to null (the SDK's UpdateUserRequestContent types them `string | null`). */
const NULLABLE_ON_UPDATE = new Set([
  'email',
  'phone_number',
  'given_name',
  'family_name',
  'name',
  'nickname',
  'picture',
  'password',
  'username',
]);

/** A user the tenant already has (people sign up through the app's login, not through the gateway). */
export interface SeedUser {
  readonly user_id: string;
  readonly email: string;
  readonly connection?: string;
  readonly name?: string;
}

export type Auth0Emulator = PartnerEmulator & {
  seedUser(user: SeedUser): void;
  /** The user signs in through the app's login: Auth0 records the IP address and the time. */
  logIn(userId: string, ip: string): boolean;
};

export interface Auth0EmulatorOptions {
  readonly clientId?: string;
  readonly clientSecret?: string;
}

export function createAuth0Emulator(options: Auth0EmulatorOptions = {}): Auth0Emulator {
  const clientId = options.clientId ?? AUTH0_SANDBOX_CLIENT_ID;
  const clientSecret = options.clientSecret ?? AUTH0_SANDBOX_CLIENT_SECRET;
  const users = new Map<string, User>();
  const tokens = new Set<string>();

  function handle(req: EmulatorRequest): EmulatorResponse {
    if (req.path === '/oauth/token' && req.method === 'POST') return token(req);
    if (!req.path.startsWith('/api/v2/')) return apiError(404, 'Not Found', 'Not Found');
    const bearer = /^Bearer (\S+)$/.exec(header(req, 'authorization') ?? '')?.[1];
    if (bearer === undefined) return apiError(401, 'Unauthorized', 'Missing authentication');
    if (!tokens.has(bearer)) return apiError(401, 'Unauthorized', 'Invalid token');

    if (req.path === '/api/v2/users' && req.method === 'POST') return create(req);
    if (req.path === '/api/v2/users-by-email' && req.method === 'GET') {
      const email = req.query.get('email')?.toLowerCase();
      if (!email) {
        return apiError(
          400,
          'Bad Request',
          "Query validation error: 'Missing required property: email'.",
          'invalid_query_string',
        );
      }
      return json(200, [...users.values()].filter((u) => u.email === email).map(render));
    }
    const match = /^\/api\/v2\/users\/([^/]+)$/.exec(req.path);
    if (!match?.[1]) return apiError(404, 'Not Found', 'Not Found');
    const id = decodeURIComponent(match[1]);
    const user = users.get(id);
    switch (req.method) {
      case 'GET':
        return user ? json(200, render(user)) : notFound();
      case 'PATCH':
        return user ? update(user, req) : notFound();
      case 'DELETE':
        users.delete(id); // Auth0 answers 204 whether or not the user existed
        return { status: 204 };
      default:
        return apiError(404, 'Not Found', 'Not Found');
    }
  }

  function token(req: EmulatorRequest): EmulatorResponse {
    const params = parseBody(req) ?? {};
    if (params.grant_type !== 'client_credentials') {
      return json(403, { error: 'unsupported_grant_type', error_description: 'Unsupported grant type' });
    }
    if (params.client_id !== clientId || params.client_secret !== clientSecret) {
      return json(401, { error: 'access_denied', error_description: 'Unauthorized' });
    }
    // The Management API's audience is https://{tenant domain}/api/v2/; Auth0 wants it named.
    if (typeof params.audience !== 'string' || params.audience === '') {
      return json(403, {
        error: 'access_denied',
        error_description: 'No audience parameter was provided, and no default audience has been configured',
      });
    }
    if (!/^https:\/\/[^/]+\/api\/v2\/$/.test(params.audience)) {
      return json(403, { error: 'access_denied', error_description: `Service not found: ${params.audience}` });
    }
    const accessToken = randomBytes(24).toString('base64url');
    tokens.add(accessToken);
    return json(200, {
      access_token: accessToken,
      scope: 'read:users update:users delete:users create:users',
      expires_in: 86400,
      token_type: 'Bearer',
    });
  }

  function create(req: EmulatorRequest): EmulatorResponse {
    const body = parseBody(req);
    if (!body) return badJson();
    const invalid =
      validate(body, CREATE_KEYS) ?? typed(body, false) ?? missing(body, ['connection', 'email', 'password']);
    if (invalid) return invalid;
    const email = String(body.email).toLowerCase();
    const connection = String(body.connection);
    if ([...users.values()].some((u) => u.email === email && u.connection === connection)) {
      return apiError(409, 'Conflict', 'The user already exists.', 'auth0_idp_error');
    }
    const now = new Date().toISOString();
    const user: User = {
      user_id: `auth0|${randomBytes(12).toString('hex')}`,
      connection,
      email,
      email_verified: body.email_verified === true,
      created_at: now,
      updated_at: now,
    };
    assign(user, body);
    users.set(user.user_id, user);
    return json(201, render(user));
  }

  function update(user: User, req: EmulatorRequest): EmulatorResponse {
    const body = parseBody(req);
    if (!body) return badJson();
    const invalid = validate(body, UPDATE_KEYS) ?? typed(body, true);
    if (invalid) return invalid;
    if (Object.keys(body).length === 0) {
      return apiError(
        400,
        'Bad Request',
        "Payload validation error: 'Too few properties defined (0), minimum 1'.",
        'invalid_body',
      );
    }
    // A new address is unverified unless the caller says otherwise, as in Auth0.
    if (typeof body.email === 'string' && body.email.toLowerCase() !== user.email) user.email_verified = false;
    assign(user, body);
    user.updated_at = new Date().toISOString();
    return json(200, render(user));
  }

  return {
    partner: 'auth0',
    // Free plan: 2 Management API requests per second. The token call is the Authentication API.
    limits: { perSecond: 2, counts: (req) => req.path.startsWith('/api/v2/') },
    handle,
    rateLimited(retryAfterSeconds) {
      const reset = Math.ceil(Date.now() / 1000) + retryAfterSeconds;
      return {
        ...apiError(429, 'Too Many Requests', 'Global limit has been reached', 'too_many_requests'),
        headers: {
          'retry-after': String(retryAfterSeconds),
          'x-ratelimit-limit': '2',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(reset),
        },
      };
    },
    holdings() {
      const out: Record<string, Holding> = {};
      for (const u of users.values()) {
        const personal: Record<string, unknown> = {};
        if (u.name) personal.name = u.name;
        if (u.given_name) personal['name.given'] = u.given_name;
        if (u.family_name) personal['name.family'] = u.family_name;
        personal.email = u.email;
        if (u.last_ip) personal.ip_address = u.last_ip;
        if (u.user_metadata && Object.keys(u.user_metadata).length > 0) personal.user_metadata = u.user_metadata;
        if (u.app_metadata && Object.keys(u.app_metadata).length > 0) personal.app_metadata = u.app_metadata;
        out[u.user_id] = {
          personal,
          meta: {
            connection: u.connection,
            email_verified: u.email_verified,
            created_at: u.created_at,
            updated_at: u.updated_at,
          },
        };
      }
      return out;
    },
    reset() {
      users.clear();
      tokens.clear();
    },
    logIn(userId, ip) {
      const user = users.get(userId);
      if (!user) return false;
      user.last_ip = ip;
      user.last_login = new Date().toISOString();
      user.logins_count = (user.logins_count ?? 0) + 1;
      return true;
    },
    seedUser(seed) {
      const now = new Date().toISOString();
      users.set(seed.user_id, {
        user_id: seed.user_id,
        connection: seed.connection ?? 'Username-Password-Authentication',
        email: seed.email.toLowerCase(),
        email_verified: true,
        ...(seed.name ? { name: seed.name } : {}),
        created_at: now,
        updated_at: now,
      });
    },
  };
}

function assign(user: User, body: Record<string, unknown>): void {
  for (const key of PROFILE) {
    const value = body[key];
    if (typeof value === 'string') user[key] = key === 'email' ? value.toLowerCase() : value;
    else if (value === null && key !== 'email') delete user[key]; // null unsets a field
  }
  // Auth0 merges metadata at the first level: a key set to null is removed, the others are kept.
  for (const key of ['user_metadata', 'app_metadata'] as const) {
    const value = body[key];
    if (typeof value !== 'object' || value === null) continue;
    const merged = { ...user[key], ...(value as Record<string, unknown>) };
    user[key] = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== null));
  }
}

function render(u: User): Record<string, unknown> {
  const { connection, ...fields } = u;
  return {
    ...fields,
    identities: [{ connection, user_id: u.user_id.slice('auth0|'.length), provider: 'auth0', isSocial: false }],
  };
}

function validate(body: Record<string, unknown>, allowed: ReadonlySet<string>): EmulatorResponse | undefined {
  const extra = Object.keys(body).filter((k) => !allowed.has(k));
  if (extra.length === 0) return undefined;
  return apiError(
    400,
    'Bad Request',
    `Payload validation error: 'Additional properties not allowed: ${extra.join(',')}'.`,
    'invalid_body',
  );
}

/** Auth0's payload validation messages, one property at a time, as its schema checker words them. */
function typed(body: Record<string, unknown>, update: boolean): EmulatorResponse | undefined {
  for (const [key, value] of Object.entries(body)) {
    const rule = FIELD_RULES[key];
    if (rule === undefined) continue;
    const problem = fieldProblem(rule, value, update && NULLABLE_ON_UPDATE.has(key));
    if (problem)
      return apiError(400, 'Bad Request', `Payload validation error: '${problem}' on property ${key}.`, 'invalid_body');
  }
  return undefined;
}

function fieldProblem(rule: FieldRule, value: unknown, nullable: boolean): string | undefined {
  if (value === null) return nullable ? undefined : `Expected type ${rule.type} but found type null`;
  const found = Array.isArray(value) ? 'array' : typeof value;
  if (found !== rule.type) return `Expected type ${rule.type} but found type ${found}`;
  if (typeof value !== 'string') return undefined;
  if (rule.min !== undefined && value.length < rule.min)
    return `String is too short (${value.length} chars), minimum ${rule.min}`;
  if (rule.max !== undefined && value.length > rule.max)
    return `String is too long (${value.length} chars), maximum ${rule.max}`;
  // Auth0 quotes the address here; the emulator does not, so no test's value lands in an answer.
  if (rule.email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) return "Object didn't pass validation for format email";
  return undefined;
}

function missing(body: Record<string, unknown>, required: readonly string[]): EmulatorResponse | undefined {
  const absent = required.find((k) => typeof body[k] !== 'string' || body[k] === '');
  if (absent === undefined) return undefined;
  return apiError(
    400,
    'Bad Request',
    `Payload validation error: 'Missing required property: ${absent}'.`,
    'invalid_body',
  );
}

/** The token endpoint takes a form or JSON; the Management API takes JSON. */
function parseBody(req: EmulatorRequest): Record<string, unknown> | undefined {
  const text = req.body.toString('utf8');
  if ((header(req, 'content-type') ?? '').includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  try {
    const parsed: unknown = JSON.parse(text || '{}');
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const badJson = () => apiError(400, 'Bad Request', 'Invalid request payload JSON format', 'invalid_body');

function header(req: EmulatorRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function json(status: number, body: unknown): EmulatorResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8' }, body };
}

function apiError(status: number, error: string, message: string, errorCode?: string): EmulatorResponse {
  return json(status, { statusCode: status, error, message, ...(errorCode ? { errorCode } : {}) });
}

function notFound(): EmulatorResponse {
  return apiError(404, 'Not Found', 'The user does not exist.', 'inexistent_user');
}
