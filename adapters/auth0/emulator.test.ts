import { describe, expect, it } from 'vitest';
import type { EmulatorRequest, PartnerEmulator } from '../../src/emulator.ts';
import { errorFormatProblems } from '../../test/spec/error-format.ts';
import { AUTH0_SANDBOX_CLIENT_ID, AUTH0_SANDBOX_CLIENT_SECRET, createAuth0Emulator } from './emulator.ts';

// Auth0's wire behaviour the sandbox relies on, checked on the emulator directly.
function request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): EmulatorRequest {
  const [pathname, search] = path.split('?');
  return {
    method,
    path: pathname ?? path,
    query: new URLSearchParams(search),
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
  };
}
const CLIENT = {
  grant_type: 'client_credentials',
  client_id: AUTH0_SANDBOX_CLIENT_ID,
  client_secret: AUTH0_SANDBOX_CLIENT_SECRET,
};
const AUDIENCE = 'https://sandbox.auth0.invalid/api/v2/';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- emulator bodies are read loosely in these tests
const bodyOf = (r: { body?: unknown }) => r.body as Record<string, any>;

async function withToken(emulator: PartnerEmulator) {
  const token = await emulator.handle(request('POST', '/oauth/token', { ...CLIENT, audience: AUDIENCE }));
  const auth = { authorization: `Bearer ${bodyOf(token).access_token}` };
  return (method: string, path: string, body?: unknown) => emulator.handle(request(method, path, body, auth));
}
const newUser = { connection: 'db', email: 'Ada@Example.test', password: 'x', name: 'Ada Lovelace' };

describe('auth0 emulator', () => {
  it('wants a token from the client-credentials call', async () => {
    const emulator = createAuth0Emulator();
    const missing = await emulator.handle(request('GET', '/api/v2/users/auth0%7Cx'));
    expect(missing.status).toBe(401);
    expect(bodyOf(missing)).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    const denied = await emulator.handle(
      request('POST', '/oauth/token', { grant_type: 'client_credentials', client_id: 'c' }),
    );
    expect(bodyOf(denied)).toEqual({ error: 'access_denied', error_description: 'Unauthorized' });
  });

  it('creates auth0| users, lower-cases the email, and answers 409 to a duplicate', async () => {
    const emulator = createAuth0Emulator();
    const call = await withToken(emulator);
    const created = await call('POST', '/api/v2/users', newUser);
    expect(created.status).toBe(201);
    expect(bodyOf(created)).toMatchObject({ user_id: expect.stringMatching(/^auth0\|/), email: 'ada@example.test' });
    const duplicate = await call('POST', '/api/v2/users', { ...newUser, email: 'ADA@example.test' });
    expect(duplicate.status).toBe(409);
    expect(bodyOf(duplicate)).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'The user already exists.',
      errorCode: 'auth0_idp_error',
    });
    const found = await call('GET', '/api/v2/users-by-email?email=ada%40example.test');
    expect((found.body as unknown[]).length).toBe(1);
    expect(emulator.holdings()[bodyOf(created).user_id]?.personal).toEqual({
      name: 'Ada Lovelace',
      email: 'ada@example.test',
    });
  });

  it('validates payloads the way the Management API does', async () => {
    const call = await withToken(createAuth0Emulator());
    const noPassword = await call('POST', '/api/v2/users', { connection: 'db', email: 'a@b.test' });
    expect(bodyOf(noPassword)).toMatchObject({ statusCode: 400, errorCode: 'invalid_body' });
    const extra = await call('POST', '/api/v2/users', { ...newUser, pseudonym: 'x' });
    expect(bodyOf(extra)).toMatchObject({ statusCode: 400, errorCode: 'invalid_body' });
    const id = encodeURIComponent(bodyOf(await call('POST', '/api/v2/users', newUser)).user_id);
    const empty = await call('PATCH', `/api/v2/users/${id}`, {});
    expect(bodyOf(empty)).toMatchObject({ statusCode: 400, errorCode: 'invalid_body' });
  });

  it('404s an unknown user, and deletes with 204 whether or not the user exists', async () => {
    const call = await withToken(createAuth0Emulator());
    const unknown = await call('GET', '/api/v2/users/auth0%7Cnobody');
    expect(bodyOf(unknown)).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'The user does not exist.',
      errorCode: 'inexistent_user',
    });
    expect((await call('PATCH', '/api/v2/users/auth0%7Cnobody', { name: 'x' })).status).toBe(404);
    expect((await call('DELETE', '/api/v2/users/auth0%7Cnobody')).status).toBe(204);
  });

  it("rate limits with Auth0's 429 and its rate-limit headers", () => {
    const r = createAuth0Emulator().rateLimited(3);
    expect(r.status).toBe(429);
    expect(bodyOf(r)).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    expect(r.headers).toMatchObject({ 'retry-after': '3', 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0' });
    expect(Number(r.headers?.['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
    expect(createAuth0Emulator().limits.perSecond).toBe(2);
  });

  describe('refuses what Auth0 refuses (test/fixtures/partner-specs/auth0.json)', () => {
    it('the token call: other client credentials, no audience, or not the Management API', async () => {
      const emulator = createAuth0Emulator();
      const token = (body: object) => emulator.handle(request('POST', '/oauth/token', body));
      expect(await token({ ...CLIENT, client_secret: 'guess', audience: AUDIENCE })).toMatchObject({
        status: 401,
        body: { error: 'access_denied' },
      });
      expect(await token(CLIENT)).toMatchObject({
        status: 403,
        body: { error: 'access_denied', error_description: expect.stringContaining('No audience') },
      });
      expect(await token({ ...CLIENT, audience: 'https://sandbox.auth0.invalid/userinfo' })).toMatchObject({
        status: 403,
        body: { error: 'access_denied', error_description: expect.stringContaining('Service not found') },
      });
      expect(await token({ ...CLIENT, audience: AUDIENCE })).toMatchObject({ status: 200 });
    });

    it('profile fields of the wrong type or length, on create and on update', async () => {
      const call = await withToken(createAuth0Emulator());
      const refused = async (pending: ReturnType<typeof call>, property: string) => {
        const r = await pending;
        expect(r).toMatchObject({ status: 400, body: { errorCode: 'invalid_body' } });
        expect(bodyOf(r).message).toMatch(new RegExp(`^Payload validation error: '.+' on property ${property}\\.$`));
        expect(errorFormatProblems('auth0', r)).toEqual([]);
      };
      await refused(call('POST', '/api/v2/users', { ...newUser, name: 'n'.repeat(301) }), 'name');
      await refused(call('POST', '/api/v2/users', { ...newUser, given_name: '' }), 'given_name');
      await refused(call('POST', '/api/v2/users', { ...newUser, email: 'not-an-address' }), 'email');
      await refused(call('POST', '/api/v2/users', { ...newUser, name: null }), 'name');
      await refused(call('POST', '/api/v2/users', { ...newUser, email_verified: 'yes' }), 'email_verified');
      const id = encodeURIComponent(bodyOf(await call('POST', '/api/v2/users', newUser)).user_id);
      await refused(call('PATCH', `/api/v2/users/${id}`, { family_name: 'f'.repeat(151) }), 'family_name');
      await refused(call('PATCH', `/api/v2/users/${id}`, { name: '' }), 'name');
      await refused(call('PATCH', `/api/v2/users/${id}`, { user_metadata: [] }), 'user_metadata');
      // null unsets a profile field on an update.
      expect(await call('PATCH', `/api/v2/users/${id}`, { name: null, given_name: null })).toMatchObject({
        status: 200,
      });
    });

    it('users-by-email without the email it requires', async () => {
      const call = await withToken(createAuth0Emulator());
      const r = await call('GET', '/api/v2/users-by-email');
      expect(r).toMatchObject({ status: 400, body: { errorCode: 'invalid_query_string' } });
      expect(errorFormatProblems('auth0', r)).toEqual([]);
    });
  });
});
