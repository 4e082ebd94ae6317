import { randomBytes } from 'node:crypto';
import type { ManagementError, ManagementTimeoutError } from 'auth0';
import { z } from 'zod';
import {
  PartnerError,
  assertSafeBaseUrl,
  classifyHttpStatus,
  parseResetTime,
  parseRetryAfter,
  safeErrorCode,
  type CallContext,
  type EraseResult,
  type HeldData,
  type PartnerAdapter,
  type PartnerPayload,
  type SubjectRef,
  type UpsertInput,
  type UpsertResult,
} from '../../src/adapter.ts';
import { gatewayErrors, type GatewayErrors } from '../common/errors.ts';
import { lazySdk } from '../common/lazy-sdk.ts';
import { requestsPerSecond } from '../common/limits.ts';
import { mergeHeldFields } from '../common/results.ts';

export interface Auth0Options {
  /** The tenant's host name, e.g. example.eu.auth0.com (no scheme, no path). */
  readonly domain: string;
  /** A machine-to-machine application allowed read:users, update:users, delete:users (create:users). */
  readonly clientId: string;
  readonly clientSecret: string;
  /** The database connection new users are created in; needed only with createUsers. */
  readonly connection?: string;
  /** Create a user when the host has no Auth0 id for the subject. Off: such an upsert fails. */
  readonly createUsers: boolean;
  /** Another origin (and path) to send both the token call and the Management API to, e.g. the sandbox. */
  readonly baseUrl?: string;
  readonly timeoutMs?: number;
  /** Management API calls per second to keep to. Default 2, the free plan's limit; paid plans allow more. */
  readonly requestsPerSecond?: number;
}

const PARTNER = 'auth0';
const fail: GatewayErrors = gatewayErrors(PARTNER);

export function createAuth0Adapter(options: Auth0Options): PartnerAdapter {
  if (options.createUsers && !options.connection) throw new Error(`${PARTNER}: createUsers needs a connection`);
  const redirected = options.baseUrl !== undefined ? { fetch: redirectedFetch(options.baseUrl) } : {};
  // One client per adapter: its token cache belongs to these credentials only.
  const sdk = lazySdk(PARTNER, async () => {
    const { ManagementClient, ManagementError, ManagementTimeoutError } = await import('auth0');
    errorClasses = { ManagementError, ManagementTimeoutError };
    return new ManagementClient({
      domain: options.domain,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      // The job queue owns retries; the SDK would otherwise repeat 408/429/5xx twice, a POST included.
      maxRetries: 0,
      ...(options.timeoutMs !== undefined ? { timeoutInSeconds: options.timeoutMs / 1000 } : {}),
      ...redirected,
    });
  });
  const requestOptions = (ctx: CallContext) => ({ ...(ctx.signal ? { abortSignal: ctx.signal } : {}) });

  async function update(id: string, fields: UserUpdate, ctx: CallContext): Promise<void> {
    await call('upsert', ctx, async () => (await sdk('upsert')).users.update(id, fields, requestOptions(ctx)));
  }

  /** An update that answers false when Auth0 no longer has the user (deleted by hand in the dashboard). */
  async function updateIfThere(id: string, fields: UserUpdate, ctx: CallContext): Promise<boolean> {
    const found = await call(
      'upsert',
      ctx,
      async () => (await sdk('upsert')).users.update(id, fields, requestOptions(ctx)),
      { notFound: () => null },
    );
    return found !== null;
  }

  async function create(
    payload: PartnerPayload,
    cleared: UpsertInput['cleared'],
    ctx: CallContext,
  ): Promise<UpsertResult> {
    const fields = userFields(payload);
    if (fields.email === undefined) throw fail('upsert', 'permanent', 'missing_email');
    const connection = options.connection as string;
    try {
      const user = await (
        await sdk('upsert')
      ).users.create({ connection, password: randomPassword(), ...fields }, requestOptions(ctx));
      if (!user.user_id) throw fail('upsert', 'permanent', 'unexpected_answer');
      return { partnerId: user.user_id, created: true };
    } catch (err) {
      if (!(isManagementError(err) && err.statusCode === 409)) throw toPartnerError('upsert', err, ctx);
    }
    // The user exists: an earlier attempt created it and its answer was lost (timeout, crash), or
    // the person signed up already. Either way the account is theirs: update it.
    const email = fields.email.toLowerCase(); // Auth0 stores addresses lower-cased and matches exactly
    const users = await call('upsert', ctx, async () =>
      (await sdk('upsert')).users.listUsersByEmail({ email }, requestOptions(ctx)),
    );
    const existing = users.find((u) => u.identities?.some((i) => i.connection === connection));
    if (!existing?.user_id) throw fail('upsert', 'permanent', 'user_exists', { status: 409 });
    // An update, not a create: it clears what the master record no longer has.
    await update(existing.user_id, { ...fields, ...clearedFields(payload, cleared) }, ctx);
    return { partnerId: existing.user_id, created: false };
  }

  return {
    partner: PARTNER,
    limits: { perSecond: requestsPerSecond(PARTNER, options.requestsPerSecond, 2) },
    retainedAfterErasure: [
      "Auth0's tenant logs (sign-ins and API calls, which can carry the email address and IP address) stay until the plan's log retention period ends.",
    ],

    async upsert({ payload, ref, cleared }: UpsertInput, ctx: CallContext): Promise<UpsertResult> {
      const userId = ref.partnerIds[0];
      if (userId === undefined) {
        if (!options.createUsers) throw fail('upsert', 'permanent', 'no_user_id');
        return create(payload, cleared, ctx);
      }
      const fields = { ...userFields(payload), ...clearedFields(payload, cleared) };
      // Auth0 rejects an empty PATCH; nothing the policy allows means nothing to send.
      if (Object.keys(fields).length === 0) return { partnerId: userId, created: false };
      // Without createUsers a 404 stays what it was (the host's user id is wrong, for good). With it,
      // a user gone at Auth0 while the subject should be there is drift, repaired by creating it again.
      if (!options.createUsers) await update(userId, fields, ctx);
      else if (!(await updateIfThere(userId, fields, ctx))) return create(payload, cleared, ctx);
      return { partnerId: userId, created: false };
    },

    async erase(ref: SubjectRef, _mode, ctx: CallContext): Promise<EraseResult> {
      // Auth0 has no archive: both modes delete. Auth0 answers 204 for an unknown id; a 404 is gone too.
      for (const id of ref.partnerIds) {
        await call('erase', ctx, async () => (await sdk('erase')).users.delete(id, requestOptions(ctx)), {
          notFound: () => undefined,
        });
      }
      return { removed: [...ref.partnerIds] };
    },

    async fetch(ref: SubjectRef, ctx: CallContext): Promise<HeldData> {
      const held: Record<string, unknown>[] = [];
      for (const id of ref.partnerIds) {
        const user = await call('fetch', ctx, async () => (await sdk('fetch')).users.get(id, {}, requestOptions(ctx)), {
          notFound: () => undefined,
        });
        if (user === undefined) continue;
        // An answer of an unexpected shape still means Auth0 holds the user: report it, unread.
        const parsed = userSchema.safeParse(user);
        held.push(parsed.success ? heldFields(parsed.data) : {});
      }
      return { found: held.length > 0, fields: mergeHeldFields(held) };
    },
  };
}

interface UserFields {
  name?: string;
  given_name?: string;
  family_name?: string;
  email?: string;
}

/** An update may also clear the name fields (null); a create never carries a null, nor the email ever. */
interface UserUpdate {
  name?: string | null;
  given_name?: string | null;
  family_name?: string | null;
  email?: string;
}

/** Only what the payload has, in Auth0's names: Auth0 has no field for an address or (outside SMS) a phone. */
function userFields(payload: PartnerPayload): UserFields {
  const { name, email } = payload;
  return {
    ...(name ? { name: `${name.given} ${name.family}`, given_name: name.given, family_name: name.family } : {}),
    ...(email !== undefined ? { email } : {}),
  };
}

/**
 * What the master record no longer has, as Auth0 clears it: `null` for `name`, `given_name` and
 * `family_name` when the name is cleared. Never the email: a database-connection user signs in with
 * it, so a cleared email stays at Auth0 (see README). Auth0 has no address or (outside SMS) phone
 * field. A field the payload still carries is never cleared.
 */
function clearedFields(payload: PartnerPayload, cleared: UpsertInput['cleared']): UserUpdate {
  const nameCleared = (cleared ?? []).some((path) => path.split('.')[0] === 'name');
  return nameCleared && payload.name === undefined ? { name: null, given_name: null, family_name: null } : {};
}

/**
 * Nobody ever learns this password: the person sets their own through a password reset. The fixed
 * tail meets Auth0's strictest character-class policy; the strength is in the 192 random bits.
 */
function randomPassword(): string {
  return `${randomBytes(24).toString('base64url')}aA1!`;
}

/**
 * ManagementClient builds https://{domain}/api/v2 and https://{domain}/oauth/token itself and drops a
 * `fetcher` option, but hands its `fetch` option to both the API calls and the token provider.
 */
function redirectedFetch(baseUrl: string): typeof fetch {
  const base = assertSafeBaseUrl(PARTNER, baseUrl);
  const prefix = `${base.origin}${base.pathname.replace(/\/$/, '')}`;
  return (input, init) => {
    const original = new URL(input instanceof Request ? input.url : input);
    const target = `${prefix}${original.pathname}${original.search}`;
    // Looked up per call, so a fetch interceptor installed later (nock in tests) still applies.
    return globalThis.fetch(input instanceof Request ? new Request(target, input) : target, init);
  };
}

async function call<T, F = never>(
  operation: string,
  ctx: CallContext,
  request: () => Promise<T>,
  handlers: { notFound?: () => F } = {},
): Promise<T | F> {
  try {
    return await request();
  } catch (err) {
    if (handlers.notFound && isManagementError(err) && err.statusCode === 404) return handlers.notFound();
    throw toPartnerError(operation, err, ctx);
  }
}

/** Built from status, code and headers only: Auth0's messages can name the user or echo the body. */
/** The SDK's error classes, known once it is loaded (no SDK error can come before). */
let errorClasses:
  { ManagementError: typeof ManagementError; ManagementTimeoutError: typeof ManagementTimeoutError } | undefined;

function isManagementError(err: unknown): err is ManagementError {
  return errorClasses !== undefined && err instanceof errorClasses.ManagementError;
}

function toPartnerError(operation: string, err: unknown, ctx?: CallContext): PartnerError {
  if (err instanceof PartnerError) return err;
  // v7 aborts its own timeout with the bare reason 'timeout', which fetch rethrows as is, so the SDK
  // reports a plain ManagementError with that string as cause, not its ManagementTimeoutError.
  if (
    (errorClasses !== undefined && err instanceof errorClasses.ManagementTimeoutError) ||
    (isManagementError(err) && err.cause === 'timeout')
  ) {
    return fail(operation, 'retryable', 'timeout');
  }
  if (!isManagementError(err) || err.statusCode === undefined) {
    // No answer at all: a connection error, an abort, or the token call's own network failure.
    return fail(operation, 'retryable', ctx?.signal?.aborted ? 'aborted' : 'connection_error');
  }
  const status = err.statusCode;
  const body = errorBodySchema.safeParse(err.body);
  const code = safeErrorCode(body.success ? (body.data.errorCode ?? body.data.error) : undefined);
  // The token call throws without the response, so its 429 carries no headers.
  const headers = err.rawResponse?.headers;
  const retryAfterMs =
    parseRetryAfter(headers?.get('retry-after')) ?? parseResetTime(headers?.get('x-ratelimit-reset'));
  return new PartnerError({
    partner: PARTNER,
    operation,
    kind: classifyHttpStatus(status),
    status,
    ...(code !== undefined ? { code } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

// The Management API's {statusCode, error, message, errorCode}; the token endpoint's OAuth {error}.
const errorBodySchema = z.object({ errorCode: z.string().optional(), error: z.string().optional() });

const text = z.string().nullish();
const userSchema = z.object({
  email: text,
  name: text,
  given_name: text,
  family_name: text,
  nickname: text,
  picture: text,
  username: text,
  phone_number: text,
  last_ip: text,
});

/** Everything personal Auth0 holds for a user, including what it derives itself (nickname, picture). */
function heldFields(u: z.infer<typeof userSchema>): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    name: u.name,
    'name.given': u.given_name,
    'name.family': u.family_name,
    email: u.email,
    phone: u.phone_number,
    nickname: u.nickname,
    picture: u.picture,
    username: u.username,
    ip_address: u.last_ip,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null && v !== ''));
}
