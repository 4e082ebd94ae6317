import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  PartnerError,
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
import type { RestAnswer } from '../common/rest-client.ts';
import { createSdkTransport, type SdkTransport } from '../common/sdk-transport.ts';
import { requestsPerSecond } from '../common/limits.ts';
import { boundedFields, mergeHeldFields } from '../common/results.ts';

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
/** The whole request, answer included; the SDK's own default is 60 s. */
const DEFAULT_TIMEOUT_MS = 30_000;
const fail: GatewayErrors = gatewayErrors(PARTNER);

export function createAuth0Adapter(options: Auth0Options): PartnerAdapter {
  if (options.createUsers && !options.connection) throw new Error(`${PARTNER}: createUsers needs a connection`);
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(options.domain)) throw new Error(`${PARTNER}: domain must be a host name`);
  const transport = createSdkTransport({
    partner: PARTNER,
    // The token call and the Management API alike: nothing else is spoken to.
    baseUrl: options.baseUrl ?? `https://${options.domain}`,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    answerError,
  });
  // One client per adapter: its token cache belongs to these credentials only.
  const sdk = lazySdk(PARTNER, async () => {
    const { ManagementClient } = await import('auth0');
    return new ManagementClient({
      domain: options.domain,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      // The job queue owns retries; the SDK would otherwise repeat 408/429/5xx twice, a POST included.
      maxRetries: 0,
      // ManagementClient drops a `fetcher` option, but hands `fetch` to the API calls and the token call.
      fetch: cappedFetch(transport),
    });
  });
  const requestOptions = (ctx: CallContext) => ({ ...(ctx.signal ? { abortSignal: ctx.signal } : {}) });
  /** One SDK call: every failure is a PartnerError, a 404 is `notFound()` where the caller says so. */
  const call = <T, F = never>(operation: string, ctx: CallContext, request: () => Promise<T>, notFound?: () => F) =>
    transport.run(operation, ctx, request).catch((err: unknown) => {
      if (notFound && err instanceof PartnerError && err.status === 404) return notFound();
      // Not the transport's: the SDK could not read a 2xx answer.
      throw err instanceof PartnerError ? err : fail(operation, 'retryable', 'unexpected_answer');
    });

  /** The update of a known user; false when Auth0 no longer has it (deleted by hand in the dashboard). */
  async function update(id: string, fields: UserUpdate, ctx: CallContext, goneIsFalse: boolean): Promise<boolean> {
    const answer = await call(
      'upsert',
      ctx,
      async () => (await sdk('upsert')).users.update(id, fields, requestOptions(ctx)),
      goneIsFalse ? () => null : undefined,
    );
    if (answer === null) return false;
    // Only this user's own answer is an acknowledgement; a PATCH is safe to send again.
    if (userIdSchema.safeParse(answer).data?.user_id !== id) throw fail('upsert', 'retryable', 'unexpected_answer');
    return true;
  }

  async function create(
    payload: PartnerPayload,
    cleared: UpsertInput['cleared'],
    ctx: CallContext,
  ): Promise<UpsertResult> {
    const fields = userFields(payload);
    if (fields.email === undefined) throw fail('upsert', 'permanent', 'missing_email');
    const connection = options.connection as string;
    const created = await call('upsert', ctx, async () =>
      (await sdk('upsert')).users.create({ connection, password: randomPassword(), ...fields }, requestOptions(ctx)),
    ).catch((err: unknown) => {
      if (err instanceof PartnerError && err.status === 409) return 'exists' as const;
      // A 2xx the SDK could not read: the user may have been created (a retry then meets a 409).
      throw err instanceof PartnerError && err.code === 'unexpected_answer' ? createUnknown() : err;
    });
    if (created !== 'exists') {
      const user = userIdSchema.safeParse(created);
      // A 2xx without a user id of Auth0's format: the user may exist now, the outcome is unknown.
      if (!user.success) throw createUnknown();
      return { partnerId: user.data.user_id, created: true };
    }
    // The user exists: an earlier attempt created it and its answer was lost (timeout, crash), or
    // the person signed up already. Either way the account is theirs: update it.
    const email = fields.email.toLowerCase(); // Auth0 stores addresses lower-cased and matches exactly
    const users = usersByEmailSchema.safeParse(
      await call('upsert', ctx, async () =>
        (await sdk('upsert')).users.listUsersByEmail({ email }, requestOptions(ctx)),
      ),
    );
    if (!users.success) throw fail('upsert', 'retryable', 'unexpected_answer');
    const existing = users.data.find((u) => u.identities?.some((i) => i.connection === connection));
    if (!existing) throw fail('upsert', 'permanent', 'user_exists', { status: 409 });
    // An update, not a create: it clears what the master record no longer has.
    await update(existing.user_id, { ...fields, ...clearedFields(payload, cleared) }, ctx, false);
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
      if (userId !== undefined && !isUserId(userId)) throw fail('upsert', 'permanent', 'invalid_partner_id');
      if (userId === undefined) {
        if (!options.createUsers) throw fail('upsert', 'permanent', 'no_user_id');
        return create(payload, cleared, ctx);
      }
      const fields = { ...userFields(payload), ...clearedFields(payload, cleared) };
      // Auth0 rejects an empty PATCH; nothing the policy allows means nothing to send.
      if (Object.keys(fields).length === 0) return { partnerId: userId, created: false };
      // Without createUsers a 404 stays what it was (the host's user id is wrong, for good). With it,
      // a user gone at Auth0 while the subject should be there is drift, repaired by creating it again.
      if (!(await update(userId, fields, ctx, options.createUsers))) return create(payload, cleared, ctx);
      return { partnerId: userId, created: false };
    },

    async erase(ref: SubjectRef, _mode, ctx: CallContext): Promise<EraseResult> {
      // Auth0 has no archive: both modes delete. Auth0 answers 204 for an unknown id; a 404 is gone too.
      // An id not of Auth0's format is none of its users: it never goes into a path.
      const ids = ref.partnerIds.filter(isUserId);
      for (const id of ids) {
        await call(
          'erase',
          ctx,
          async () => (await sdk('erase')).users.delete(id, requestOptions(ctx)),
          () => undefined,
        );
      }
      return { removed: ids };
    },

    async fetch(ref: SubjectRef, ctx: CallContext): Promise<HeldData> {
      const held: Record<string, unknown>[] = [];
      for (const id of ref.partnerIds.filter(isUserId)) {
        const user = await call(
          'fetch',
          ctx,
          async () => (await sdk('fetch')).users.get(id, {}, requestOptions(ctx)),
          () => undefined,
        );
        if (user === undefined) continue;
        // Not this user's answer: nothing can be said about what Auth0 holds.
        if (userIdSchema.safeParse(user).data?.user_id !== id) throw fail('fetch', 'retryable', 'unexpected_answer');
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
 * The SDK's fetch, speaking through the capped transport. ManagementClient builds
 * https://{domain}/api/v2/... and https://{domain}/oauth/token itself; the transport keeps their path
 * and query and sends them to the pinned origin (the tenant, or baseUrl).
 */
function cappedFetch(transport: SdkTransport): typeof fetch {
  return async (input, init) => {
    const request = input instanceof Request ? input : undefined;
    const url = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
    const headers = Object.fromEntries(new Headers(init?.headers ?? request?.headers).entries());
    const raw = init?.body ?? (request ? await request.text() : undefined);
    const body = raw === undefined || raw === null ? undefined : typeof raw === 'string' ? raw : String(raw);
    const signal = init?.signal ?? request?.signal ?? undefined;
    const answer = await transport.request({
      method: init?.method ?? request?.method ?? 'GET',
      url,
      headers,
      body,
      signal,
    });
    // A 204 (a deletion) has no body, and Response refuses one.
    const empty = answer.status === 204 || answer.status === 205;
    return new Response(empty ? null : answer.body, { status: answer.status, headers: answer.headers });
  };
}

const createUnknown = () => fail('upsert', 'unknown', 'outcome_unknown', { detail: 'unexpected_answer' });

/**
 * An Auth0 user id: the identity provider, '|', and the provider's id ('auth0|64f…', 'google-oauth2|1…',
 * 'samlp|conn|ada@example.com'). Never '.' or '..' alone, never a '/', '?' or '%': it goes into a path.
 */
const USER_ID = /^[A-Za-z0-9_-]{1,64}\|[A-Za-z0-9_.@+|=-]{1,256}$/;
const isUserId = (id: unknown): id is string => typeof id === 'string' && USER_ID.test(id);

/** The error for a non-2xx answer, from status, Auth0's code and headers only: its messages can echo values. */
function answerError(operation: string, answer: RestAnswer): PartnerError {
  const { status, headers } = answer;
  const body = errorBodySchema.safeParse(answer.data);
  const code = body.success ? (body.data.errorCode ?? body.data.error) : undefined;
  return new PartnerError({
    partner: PARTNER,
    operation,
    kind: classifyHttpStatus(status),
    status,
    code: safeErrorCode(code),
    retryAfterMs: parseRetryAfter(headers['retry-after']) ?? parseResetTime(headers['x-ratelimit-reset']),
  });
}

const userIdSchema = z.object({ user_id: z.string().refine(isUserId) });
const usersByEmailSchema = z.array(
  z.object({
    user_id: z.string().refine(isUserId),
    identities: z.array(z.object({ connection: z.string() })).nullish(),
  }),
);

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
  last_login: z.unknown().optional(),
  logins_count: z.unknown().optional(),
  // Free-form: the host's app (and through it the user) writes any keys here; bounded when read.
  user_metadata: z.unknown().optional(),
  app_metadata: z.unknown().optional(),
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
  return {
    ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null && v !== '')),
    ...boundedFields(u.last_login, 'last_login'),
    ...boundedFields(u.logins_count, 'logins_count'),
    ...boundedFields(u.user_metadata, 'user_metadata'),
    ...boundedFields(u.app_metadata, 'app_metadata'),
  };
}
