import { isDeepStrictEqual } from 'node:util';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import type { CallContext, PartnerPayload } from '../../src/adapter.ts';
import { expectPartnerFailure, interceptHttp, netError } from '../common/test-helpers.ts';
import { createAuth0Adapter, type Auth0Options } from './adapter.ts';

const DOMAIN = 'tenant-7f3a.eu.auth0.com';
const API = `https://${DOMAIN}`;
const CANARIES = ['Canary4e8dGiven', 'Canary4e8dFamily', 'Canary4e8d@Example.test'];
const [GIVEN, FAMILY, EMAIL] = CANARIES as [string, string, string];
const NAME_FIELDS = { name: `${GIVEN} ${FAMILY}`, given_name: GIVEN, family_name: FAMILY };
const USER_ID = 'auth0|65f0c0ffee0000000000a1b2';
const USER_PATH = `/api/v2/users/${encodeURIComponent(USER_ID)}`;
const ctx: CallContext = { correlationId: 'corr-1', idempotencyKey: 'idem-1' };
const OPTIONS: Auth0Options = {
  domain: DOMAIN,
  clientId: 'client-A',
  clientSecret: 'secret-A',
  connection: 'Username-Password-Authentication',
  createUsers: false,
};
const full: PartnerPayload = { name: { given: GIVEN, family: FAMILY }, email: EMAIL };
const known = { pseudonym: 'psd_4e8d', partnerIds: [USER_ID] };
const unknown = { pseudonym: 'psd_4e8d', partnerIds: [] };
const user = (over: Record<string, unknown> = {}) => ({
  user_id: USER_ID,
  email: EMAIL.toLowerCase(),
  email_verified: false,
  ...NAME_FIELDS,
  identities: [
    { connection: 'Username-Password-Authentication', provider: 'auth0', user_id: '65f0c0ffee0000000000a1b2' },
  ],
  ...over,
});
const auth0Error = (statusCode: number, error: string, message: string, errorCode?: string) => ({
  statusCode,
  error,
  message,
  ...(errorCode ? { errorCode } : {}),
});

/** nock hands a JSON or form body over parsed; the request must carry exactly this, nothing more. */
const exactly = (expected: object) => (body: unknown) => isDeepStrictEqual({ ...(body as object) }, expected);

/** The client-credentials call the SDK makes once per client; answers with the given token. */
function tokenCall(token = 'token-A', clientId = 'client-A', clientSecret = 'secret-A', origin = API, prefix = '') {
  return nock(origin)
    .post(
      `${prefix}/oauth/token`,
      exactly({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
        audience: `${API}/api/v2/`,
      }),
    )
    .reply(200, { access_token: token, expires_in: 86400, token_type: 'Bearer' });
}
const api = (token = 'token-A') => nock(API, { reqheaders: { authorization: `Bearer ${token}` } });
const adapter = (over: Partial<Auth0Options> = {}) => createAuth0Adapter({ ...OPTIONS, ...over });

const failure = (run: () => Promise<unknown>) =>
  expectPartnerFailure(run(), CANARIES, { where: 'message', ignoreCase: true });

interceptHttp();

describe('upsert of a known user', () => {
  it('updates name and email, and nothing else', async () => {
    const scopes = [
      tokenCall(),
      api()
        .patch(USER_PATH, exactly({ ...NAME_FIELDS, email: EMAIL }))
        .reply(200, user()),
    ];
    expect(await adapter().upsert!({ payload: full, ref: known }, ctx)).toEqual({ partnerId: USER_ID, created: false });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('sends no email when the payload has none, and no name when it has none', async () => {
    const scopes = [
      tokenCall(),
      api().patch(USER_PATH, exactly(NAME_FIELDS)).reply(200, user()),
      api()
        .patch(USER_PATH, exactly({ email: EMAIL }))
        .reply(200, user()),
    ];
    const auth0 = adapter();
    await auth0.upsert!({ payload: { name: full.name! }, ref: known }, ctx);
    await auth0.upsert!({ payload: { email: EMAIL }, ref: known }, ctx);
    for (const scope of scopes) expect(scope.isDone()).toBe(true); // one token for both calls
  });

  it('clears a removed name with null, and sends nothing else extra', async () => {
    const cleared = { name: null, given_name: null, family_name: null };
    const scopes = [
      tokenCall(),
      api()
        .patch(USER_PATH, exactly({ email: EMAIL, ...cleared }))
        .reply(200, user(cleared)),
    ];
    expect(
      await adapter().upsert!({ payload: { email: EMAIL }, ref: known, cleared: ['name.given', 'name.family'] }, ctx),
    ).toEqual({
      partnerId: USER_ID,
      created: false,
    });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('never clears the email, nor a field Auth0 does not hold, nor one the payload still carries', async () => {
    const scopes = [
      tokenCall(),
      api().patch(USER_PATH, exactly(NAME_FIELDS)).reply(200, user()),
      api()
        .patch(USER_PATH, exactly({ ...NAME_FIELDS, email: EMAIL }))
        .reply(200, user()),
    ];
    const auth0 = adapter();
    await auth0.upsert!(
      { payload: { name: full.name! }, ref: known, cleared: ['email', 'phone', 'address.street'] },
      ctx,
    );
    await auth0.upsert!({ payload: full, ref: known, cleared: ['name.given', 'phone'] }, ctx);
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('makes no call when only a field Auth0 does not hold was cleared', async () => {
    expect(await adapter().upsert!({ payload: {}, ref: known, cleared: ['phone', 'email'] }, ctx)).toEqual({
      partnerId: USER_ID,
      created: false,
    });
  });

  it('makes no call when there is nothing to send', async () => {
    expect(await adapter().upsert!({ payload: { phone: '+46700004e8d' }, ref: known }, ctx)).toEqual({
      partnerId: USER_ID,
      created: false,
    });
  });
});

describe('upsert of a user gone at Auth0', () => {
  it('creates the user again where the adapter may create users (drift repaired)', async () => {
    const scopes = [
      tokenCall(),
      api()
        .patch(USER_PATH, exactly({ ...NAME_FIELDS, email: EMAIL }))
        .reply(404, auth0Error(404, 'Not Found', 'The user does not exist.', 'inexistent_user')),
      api()
        .post('/api/v2/users')
        .reply(201, user({ user_id: 'auth0|65f0c0ffee0000000000ffff' })),
    ];
    expect(await adapter({ createUsers: true }).upsert!({ payload: full, ref: known }, ctx)).toEqual({
      partnerId: 'auth0|65f0c0ffee0000000000ffff',
      created: true,
    });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('stays a permanent failure where it may not (the host named a user that does not exist)', async () => {
    const scopes = [
      tokenCall(),
      api()
        .patch(USER_PATH, exactly({ ...NAME_FIELDS, email: EMAIL }))
        .reply(404, auth0Error(404, 'Not Found', 'The user does not exist.', 'inexistent_user')),
    ];
    expect(await failure(() => adapter().upsert!({ payload: full, ref: known }, ctx))).toMatchObject({
      kind: 'permanent',
      status: 404,
    });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });
});

describe('upsert without a user id', () => {
  it('fails permanently when the adapter may not create users', async () => {
    const err = await failure(() => adapter().upsert!({ payload: full, ref: unknown }, ctx));
    expect(err).toMatchObject({ kind: 'permanent', code: 'no_user_id' });
  });

  it('creates the user in the connection with a random strong password', async () => {
    let password = '';
    const scopes = [
      tokenCall(),
      api()
        .post('/api/v2/users', (body: Record<string, unknown>) => {
          password = String(body.password);
          const { password: _, ...rest } = body;
          return isDeepStrictEqual(rest, {
            connection: 'Username-Password-Authentication',
            email: EMAIL,
            ...NAME_FIELDS,
          });
        })
        .reply(201, user()),
    ];
    expect(await adapter({ createUsers: true }).upsert!({ payload: full, ref: unknown }, ctx)).toEqual({
      partnerId: USER_ID,
      created: true,
    });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(password).toMatch(/[a-z]/);
    expect(password).toMatch(/[A-Z]/);
    expect(password).toMatch(/[0-9]/);
    expect(password).toMatch(/[^A-Za-z0-9]/);
  });

  it('ignores cleared on create', async () => {
    const scopes = [
      tokenCall(),
      api()
        .post('/api/v2/users', (body: Record<string, unknown>) => {
          const { password: _, ...rest } = body;
          return isDeepStrictEqual(rest, { connection: 'Username-Password-Authentication', email: EMAIL });
        })
        .reply(201, user()),
    ];
    expect(
      await adapter({ createUsers: true }).upsert!(
        { payload: { email: EMAIL }, ref: unknown, cleared: ['name.given', 'name.family'] },
        ctx,
      ),
    ).toEqual({ partnerId: USER_ID, created: true });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('on 409 the update of the existing user clears the removed name', async () => {
    const scopes = [
      tokenCall(),
      api()
        .post('/api/v2/users')
        .reply(409, auth0Error(409, 'Conflict', 'The user already exists.', 'auth0_idp_error')),
      api().get('/api/v2/users-by-email').query({ email: EMAIL.toLowerCase() }).reply(200, [user()]),
      api()
        .patch(USER_PATH, exactly({ email: EMAIL, name: null, given_name: null, family_name: null }))
        .reply(200, user()),
    ];
    expect(
      await adapter({ createUsers: true }).upsert!(
        { payload: { email: EMAIL }, ref: unknown, cleared: ['name.given', 'name.family'] },
        ctx,
      ),
    ).toEqual({ partnerId: USER_ID, created: false });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('needs an email to create a user', async () => {
    const err = await failure(() =>
      adapter({ createUsers: true }).upsert!({ payload: { name: full.name! }, ref: unknown }, ctx),
    );
    expect(err).toMatchObject({ kind: 'permanent', code: 'missing_email' });
  });

  it('on 409 finds the user of its connection by (lower-cased) email and updates it', async () => {
    const other = user({ user_id: 'google-oauth2|1', identities: [{ connection: 'google-oauth2' }] });
    const scopes = [
      tokenCall(),
      api()
        .post('/api/v2/users')
        .reply(409, auth0Error(409, 'Conflict', 'The user already exists.', 'auth0_idp_error')),
      api().get('/api/v2/users-by-email').query({ email: EMAIL.toLowerCase() }).reply(200, [other, user()]),
      api()
        .patch(USER_PATH, exactly({ ...NAME_FIELDS, email: EMAIL }))
        .reply(200, user()),
    ];
    expect(await adapter({ createUsers: true }).upsert!({ payload: full, ref: unknown }, ctx)).toEqual({
      partnerId: USER_ID,
      created: false,
    });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('on 409 with no user in its connection fails permanently', async () => {
    const scopes = [
      tokenCall(),
      api()
        .post('/api/v2/users')
        .reply(409, auth0Error(409, 'Conflict', 'The user already exists.', 'auth0_idp_error')),
      api().get('/api/v2/users-by-email').query({ email: EMAIL.toLowerCase() }).reply(200, []),
    ];
    const err = await failure(() => adapter({ createUsers: true }).upsert!({ payload: full, ref: unknown }, ctx));
    expect(err).toMatchObject({ kind: 'permanent', status: 409, code: 'user_exists' });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });
});

describe('erase', () => {
  it('deletes every user id and treats 404 as gone', async () => {
    const second = 'auth0|second';
    const scopes = [
      tokenCall(),
      api().delete(USER_PATH).reply(204),
      api()
        .delete(`/api/v2/users/${encodeURIComponent(second)}`)
        .reply(404, auth0Error(404, 'Not Found', 'The user does not exist.', 'inexistent_user')),
    ];
    expect(await adapter().erase({ pseudonym: 'p', partnerIds: [USER_ID, second] }, 'delete', ctx)).toEqual({
      removed: [USER_ID, second],
    });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });
});

describe('fetch', () => {
  it('returns what Auth0 holds, including what it derived itself', async () => {
    const scopes = [
      tokenCall(),
      api()
        .get(USER_PATH)
        .reply(200, user({ nickname: 'canary4e8d', last_ip: '192.0.2.7', app_metadata: {} })),
    ];
    expect(await adapter().fetch!(known, ctx)).toEqual({
      found: true,
      fields: {
        name: `${GIVEN} ${FAMILY}`,
        'name.given': GIVEN,
        'name.family': FAMILY,
        email: EMAIL.toLowerCase(),
        nickname: 'canary4e8d',
        ip_address: '192.0.2.7',
      },
    });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('reports an unknown user as not found', async () => {
    const scopes = [
      tokenCall(),
      api()
        .get(USER_PATH)
        .reply(404, auth0Error(404, 'Not Found', 'The user does not exist.', 'inexistent_user')),
    ];
    expect(await adapter().fetch!(known, ctx)).toEqual({ found: false, fields: {} });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });
});

describe('failures', () => {
  const update = (over: Partial<Auth0Options> = {}) => adapter(over).upsert!({ payload: full, ref: known }, ctx);

  it('429 is retryable after Retry-After', async () => {
    const scopes = [
      tokenCall(),
      api()
        .patch(USER_PATH)
        .reply(429, auth0Error(429, 'Too Many Requests', 'Global limit has been reached', 'too_many_requests'), {
          'Retry-After': '4',
          'X-RateLimit-Limit': '2',
          'X-RateLimit-Remaining': '0',
        }),
    ];
    expect(await failure(() => update())).toMatchObject({
      kind: 'retryable',
      status: 429,
      code: 'too_many_requests',
      retryAfterMs: 4000,
    });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('429 without Retry-After waits for the rate-limit reset', async () => {
    const reset = Math.floor(Date.now() / 1000) + 10;
    const scopes = [
      tokenCall(),
      api()
        .patch(USER_PATH)
        .reply(429, auth0Error(429, 'Too Many Requests', 'limit'), { 'X-RateLimit-Reset': String(reset) }),
    ];
    const err = await failure(() => update());
    expect(err.kind).toBe('retryable');
    expect(err.retryAfterMs).toBeGreaterThan(8000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(10_000);
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('500 is retryable, and the SDK does not retry it on its own', async () => {
    const scopes = [
      tokenCall(),
      api()
        .patch(USER_PATH)
        .reply(500, auth0Error(500, 'Internal Server Error', `for ${EMAIL}`)),
    ];
    // A retry would match no mock, which the strict interceptor fails the test for.
    expect(await failure(() => update())).toMatchObject({ kind: 'retryable', status: 500 });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('400 is permanent with the errorCode, and the message never echoes the value', async () => {
    const scopes = [
      tokenCall(),
      api()
        .patch(USER_PATH)
        .reply(400, auth0Error(400, 'Bad Request', `Object didn't pass validation: ${EMAIL}`, 'invalid_body')),
    ];
    expect(await failure(() => update())).toMatchObject({ kind: 'permanent', status: 400, code: 'invalid_body' });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('401 from the API is permanent', async () => {
    const scopes = [
      tokenCall(),
      api()
        .patch(USER_PATH)
        .reply(401, auth0Error(401, 'Unauthorized', 'Invalid token')),
    ];
    expect(await failure(() => update())).toMatchObject({ kind: 'permanent', status: 401, code: 'Unauthorized' });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('a refused token call is permanent with the OAuth error code', async () => {
    const scope = nock(API)
      .post('/oauth/token')
      .reply(401, { error: 'access_denied', error_description: 'Unauthorized' });
    expect(await failure(() => update())).toMatchObject({ kind: 'permanent', status: 401, code: 'access_denied' });
    expect(scope.isDone()).toBe(true);
  });

  it('a connection error is retryable, on the API and on the token call', async () => {
    const scopes = [
      tokenCall(),
      api()
        .patch(USER_PATH)
        .replyWithError(netError('ECONNREFUSED', `refused ${EMAIL}`)),
    ];
    expect(await failure(() => update())).toMatchObject({
      kind: 'retryable',
      code: 'connection_error',
      status: undefined,
    });
    const token = nock(API).post('/oauth/token').replyWithError(netError('ECONNRESET', 'socket hang up'));
    expect(await failure(() => update())).toMatchObject({ kind: 'retryable', code: 'connection_error' });
    for (const scope of [...scopes, token]) expect(scope.isDone()).toBe(true);
  });
  it.each([301, 302, 307, 308])(
    'a %i is refused, on the token call and on the API: nothing goes to the other host',
    async (status) => {
      // Strict nock: a followed redirect would reach evil.example, which no mock answers.
      const location = { Location: 'https://evil.example/oauth/token' };
      const token = nock(API).post('/oauth/token').reply(status, '', location);
      expect(await failure(() => update())).toMatchObject({ kind: 'retryable', status, code: 'redirect_refused' });
      const scopes = [
        tokenCall(),
        api()
          .patch(USER_PATH)
          .reply(status, '', { Location: `https://evil.example${USER_PATH}` }),
      ];
      // A fresh adapter: the first one's token call failed, so it holds no token.
      expect(await failure(() => update())).toMatchObject({ kind: 'retryable', status, code: 'redirect_refused' });
      for (const scope of [token, ...scopes]) expect(scope.isDone()).toBe(true);
    },
  );

  it('an id not of the provider|id form never goes into a path', async () => {
    const ref = { pseudonym: 'p', partnerIds: ['..', '../x', 'auth0|a/b', USER_ID] };
    const scopes = [tokenCall(), api().delete(USER_PATH).reply(204)];
    expect(await adapter().erase(ref, 'delete', ctx)).toEqual({ removed: [USER_ID] });
    expect(
      await failure(() => adapter().upsert!({ payload: full, ref: { pseudonym: 'p', partnerIds: ['..'] } }, ctx)),
    ).toMatchObject({ kind: 'permanent', code: 'invalid_partner_id' });
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  // Timeouts are tested in sandbox.test.ts: nock 15 with a delayed reply trips an assertion inside
  // undici when fetch aborts.
});

describe('clients', () => {
  it('two adapters with different credentials get and use their own tokens', async () => {
    const scopes = [
      tokenCall('token-A', 'client-A', 'secret-A'),
      tokenCall('token-B', 'client-B', 'secret-B'),
      api('token-A').delete(USER_PATH).reply(204),
      api('token-B').delete('/api/v2/users/auth0%7Cb').reply(204),
    ];
    const a = adapter();
    const b = adapter({ clientId: 'client-B', clientSecret: 'secret-B' });
    await Promise.all([
      b.erase({ pseudonym: 'p', partnerIds: ['auth0|b'] }, 'delete', ctx),
      a.erase({ pseudonym: 'p', partnerIds: [USER_ID] }, 'delete', ctx),
    ]);
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('sends the token call and the API to the base URL it is given', async () => {
    const origin = 'https://auth0.proxy.example';
    const scopes = [
      tokenCall('token-A', 'client-A', 'secret-A', origin, '/tenant'),
      nock(origin, { reqheaders: { authorization: 'Bearer token-A' } })
        .delete(`/tenant${USER_PATH}`)
        .reply(204),
    ];
    await adapter({ baseUrl: `${origin}/tenant/` }).erase(known, 'delete', ctx);
    for (const scope of scopes) expect(scope.isDone()).toBe(true);
  });

  it('refuses plain http except on loopback', () => {
    expect(() => adapter({ baseUrl: 'http://auth0.proxy.example' })).toThrow(/https/);
    expect(() => adapter({ baseUrl: 'http://127.0.0.1:4010' })).not.toThrow();
  });
});
