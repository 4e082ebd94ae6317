import { PartnerError } from '../../src/adapter.ts';
import { isDeepStrictEqual } from 'node:util';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import type { CallContext, PartnerAdapter, PartnerPayload } from '../../src/adapter.ts';
import { expectPartnerFailure, interceptHttp, netError } from '../common/test-helpers.ts';
import { createStripeAdapter } from './adapter.ts';

const API = 'https://api.stripe.com';
const KEY = 'sk_test_Canary7f3aKeyA';
const CANARIES = ['Canary7f3aGiven', 'Canary7f3aFamily', 'canary7f3a@example.test', '+46700007f3a'];
const [GIVEN, FAMILY, EMAIL] = CANARIES as [string, string, string, string];
const NAME = `${GIVEN} ${FAMILY}`;
const ctx: CallContext = { correlationId: 'corr-1', idempotencyKey: 'idem-7f3a-1' };
const newRef = { pseudonym: 'psd_7f3a', partnerIds: [] };
const oldRef = { pseudonym: 'psd_7f3a', partnerIds: ['cus_A1', 'auth0|not-stripe'] };

const customer = (over: Record<string, unknown> = {}) => ({
  id: 'cus_A1',
  object: 'customer',
  name: NAME,
  email: null,
  phone: null,
  address: null,
  shipping: null,
  description: null,
  metadata: { pseudonym: 'psd_7f3a' },
  created: 1_700_000_000,
  livemode: false,
  ...over,
});
const stripeError = (type: string, code: string | undefined, message: string) => ({
  error: { type, ...(code ? { code } : {}), message },
});

/** nock hands a form body over parsed; the request must carry exactly these fields, nothing more. */
const exactly = (expected: Record<string, string>) => (body: unknown) =>
  isDeepStrictEqual({ ...(body as object) }, expected);
// Every update also writes the pseudonym into the metadata (a key rotation's update moves it).
const updating = (expected: Record<string, string>) =>
  exactly({ ...expected, 'metadata[pseudonym]': oldRef.pseudonym });

const stripe = (reqheaders: Record<string, string> = {}, badheaders: string[] = []) =>
  nock(API, { reqheaders: { authorization: `Bearer ${KEY}`, ...reqheaders }, badheaders });
const posting = () => stripe({ 'idempotency-key': ctx.idempotencyKey });
const adapter = (): PartnerAdapter => createStripeAdapter({ apiKey: KEY });

const failure = (run: () => Promise<unknown>) => expectPartnerFailure(run(), CANARIES, { where: 'message' });
const upsertNew = (payload: PartnerPayload = { name: { given: GIVEN, family: FAMILY } }) =>
  adapter().upsert!({ payload, ref: newRef }, ctx);

interceptHttp();

describe('upsert', () => {
  it('creates a customer with the name and the pseudonym only', async () => {
    const scope = posting()
      .post('/v1/customers', exactly({ name: NAME, 'metadata[pseudonym]': 'psd_7f3a' }))
      .reply(200, customer());
    expect(await upsertNew()).toEqual({ partnerId: 'cus_A1', created: true });
    expect(scope.isDone()).toBe(true);
  });

  // Issue 11.3: a proxy's 503 JSON without `error` is success to the SDK; it must not be a customer.
  it.each([
    [503, { message: 'upstream down' }],
    [200, { id: null, object: 'customer' }],
    [200, { id: '..', object: 'customer' }],
    [200, { id: 12345 }],
  ])('never reports a created customer without a cus_ id (HTTP %i %j)', async (status, body) => {
    const scope = posting().post('/v1/customers').reply(status, body);
    const err = await upsertNew().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PartnerError);
    expect((err as PartnerError).kind).not.toBe('permanent');
    expect(scope.isDone()).toBe(true);
  });

  it('sends no name when the payload has none', async () => {
    const scope = posting()
      .post('/v1/customers', exactly({ 'metadata[pseudonym]': 'psd_7f3a' }))
      .reply(200, customer({ name: null }));
    expect(await upsertNew({})).toEqual({ partnerId: 'cus_A1', created: true });
    expect(scope.isDone()).toBe(true);
  });

  it('maps every field the payload has to its Stripe name', async () => {
    const scope = posting()
      .post(
        '/v1/customers',
        exactly({
          name: NAME,
          email: EMAIL,
          'address[line1]': 'Canarygatan 1',
          'address[postal_code]': '11122',
          'address[city]': 'Stockholm',
          'address[country]': 'SE',
          'metadata[pseudonym]': 'psd_7f3a',
        }),
      )
      .reply(200, customer());
    const address = { street: 'Canarygatan 1', postalCode: '11122', city: 'Stockholm', country: 'SE' };
    await upsertNew({ name: { given: GIVEN, family: FAMILY }, email: EMAIL, address });
    expect(scope.isDone()).toBe(true);
  });

  it('updates the name of a known customer', async () => {
    const scope = posting()
      .post('/v1/customers/cus_A1', updating({ name: NAME }))
      .reply(200, customer());
    const result = await adapter().upsert!({ payload: { name: { given: GIVEN, family: FAMILY } }, ref: oldRef }, ctx);
    expect(result).toEqual({ partnerId: 'cus_A1', created: false });
    expect(scope.isDone()).toBe(true);
  });

  it('unsets a cleared phone with an empty string, and sends nothing else extra', async () => {
    const scope = posting()
      .post('/v1/customers/cus_A1', updating({ name: NAME, phone: '' }))
      .reply(200, customer());
    const result = await adapter().upsert!(
      { payload: { name: { given: GIVEN, family: FAMILY } }, ref: oldRef, cleared: ['phone'] },
      ctx,
    );
    expect(result).toEqual({ partnerId: 'cus_A1', created: false });
    expect(scope.isDone()).toBe(true);
  });

  it('unsets a cleared name, email and whole address; a field the payload still carries is kept', async () => {
    const scope = posting()
      .post('/v1/customers/cus_A1', updating({ name: '', email: '', address: '' }))
      .reply(200, customer({ name: null }))
      .post('/v1/customers/cus_A1', updating({ email: EMAIL }))
      .reply(200, customer());
    await adapter().upsert!(
      {
        payload: {},
        ref: oldRef,
        cleared: [
          'name.given',
          'name.family',
          'email',
          'address.street',
          'address.postalCode',
          'address.city',
          'address.country',
        ],
      },
      ctx,
    );
    await adapter().upsert!({ payload: { email: EMAIL }, ref: oldRef, cleared: ['email'] }, ctx);
    expect(scope.isDone()).toBe(true);
  });

  it('ignores cleared on create', async () => {
    const scope = posting()
      .post('/v1/customers', exactly({ name: NAME, 'metadata[pseudonym]': 'psd_7f3a' }))
      .reply(200, customer());
    const result = await adapter().upsert!(
      { payload: { name: { given: GIVEN, family: FAMILY } }, ref: newRef, cleared: ['phone', 'email'] },
      ctx,
    );
    expect(result).toEqual({ partnerId: 'cus_A1', created: true });
    expect(scope.isDone()).toBe(true);
  });

  it('with nothing else to update, writes only the pseudonym (so find() knows the customer after a key rotation)', async () => {
    const scope = posting().post('/v1/customers/cus_A1', updating({})).reply(200, customer());
    expect(await adapter().upsert!({ payload: {}, ref: oldRef }, ctx)).toEqual({ partnerId: 'cus_A1', created: false });
    expect(scope.isDone()).toBe(true);
  });
});

describe('erase', () => {
  it('deletes every Stripe customer id, without an idempotency key, and treats 404 as gone', async () => {
    const ref = { pseudonym: 'psd_7f3a', partnerIds: ['cus_A1', 'cus_B2', 'auth0|other'] };
    const scope = stripe({}, ['idempotency-key'])
      .delete('/v1/customers/cus_A1')
      .reply(200, { id: 'cus_A1', object: 'customer', deleted: true })
      .delete('/v1/customers/cus_B2')
      .reply(404, stripeError('invalid_request_error', 'resource_missing', "No such customer: 'cus_B2'"));
    expect(await adapter().erase(ref, 'delete', ctx)).toEqual({ removed: ['cus_A1', 'cus_B2'] });
    expect(scope.isDone()).toBe(true);
  });

  it('has nothing to do without a Stripe id', async () => {
    expect(await adapter().erase(newRef, 'delete', ctx)).toEqual({ removed: [] });
  });
});

describe('fetch', () => {
  it('returns what Stripe holds, in our field names', async () => {
    const address = {
      line1: 'Canarygatan 1',
      line2: null,
      postal_code: '11122',
      city: 'Stockholm',
      state: null,
      country: 'SE',
    };
    const scope = stripe({}, ['idempotency-key'])
      .get('/v1/customers/cus_A1')
      .reply(200, customer({ email: EMAIL, address }));
    expect(await adapter().fetch!(oldRef, ctx)).toEqual({
      found: true,
      fields: {
        name: NAME,
        email: EMAIL,
        'address.street': 'Canarygatan 1',
        'address.postalCode': '11122',
        'address.city': 'Stockholm',
        'address.country': 'SE',
        'metadata.pseudonym': 'psd_7f3a',
      },
    });
    expect(scope.isDone()).toBe(true);
  });

  it('reports free-form metadata and description bounded: a long value is cut at 500 characters', async () => {
    const long = 'x'.repeat(2000);
    const scope = stripe({}, ['idempotency-key'])
      .get('/v1/customers/cus_A1')
      .reply(200, customer({ email: EMAIL, description: long, metadata: { pseudonym: 'psd_7f3a', note: long } }));
    const { fields } = await adapter().fetch!(oldRef, ctx);
    expect(fields.description).toBe(`${'x'.repeat(500)}…`);
    expect(fields['metadata.note']).toBe(`${'x'.repeat(500)}…`);
    expect(fields['metadata.pseudonym']).toBe('psd_7f3a');
    expect(scope.isDone()).toBe(true);
  });

  it('reports a deleted or unknown customer as not found', async () => {
    const ref = { pseudonym: 'p', partnerIds: ['cus_A1', 'cus_B2'] };
    const scope = stripe()
      .get('/v1/customers/cus_A1')
      .reply(200, { id: 'cus_A1', object: 'customer', deleted: true })
      .get('/v1/customers/cus_B2')
      .reply(404, stripeError('invalid_request_error', 'resource_missing', "No such customer: 'cus_B2'"));
    expect(await adapter().fetch!(ref, ctx)).toEqual({ found: false, fields: {} });
    expect(scope.isDone()).toBe(true);
  });
});

describe('failures', () => {
  it('429 is retryable after Retry-After', async () => {
    const scope = posting()
      .post('/v1/customers')
      .reply(429, stripeError('invalid_request_error', 'rate_limit', `Too many requests for ${NAME}`), {
        'Retry-After': '7',
      });
    const err = await failure(() => upsertNew());
    expect(err).toMatchObject({
      kind: 'retryable',
      status: 429,
      code: 'rate_limit',
      retryAfterMs: 7000,
      operation: 'upsert',
    });
    expect(scope.isDone()).toBe(true);
  });

  it('500 is retryable, and the SDK does not retry it on its own', async () => {
    const scope = posting()
      .post('/v1/customers')
      .reply(500, stripeError('api_error', undefined, `boom ${EMAIL}`));
    // A retry would match no mock, which the strict interceptor fails the test for.
    const err = await failure(() => upsertNew());
    expect(err).toMatchObject({ kind: 'retryable', status: 500, code: 'api_error' });
    expect(scope.isDone()).toBe(true);
  });

  it('409 (a concurrent request with the same key) is retryable', async () => {
    const scope = posting()
      .post('/v1/customers')
      .reply(409, stripeError('invalid_request_error', 'lock_timeout', 'conflict'));
    expect(await failure(() => upsertNew())).toMatchObject({ kind: 'retryable', status: 409 });
    expect(scope.isDone()).toBe(true);
  });

  it('400 is permanent with Stripe code, and the message never echoes the value', async () => {
    const scope = posting()
      .post('/v1/customers')
      .reply(400, {
        error: {
          type: 'invalid_request_error',
          code: 'email_invalid',
          param: 'email',
          message: `Invalid email address: ${EMAIL}`,
        },
      });
    const err = await failure(() => upsertNew({ email: EMAIL }));
    expect(err).toMatchObject({ kind: 'permanent', status: 400, code: 'email_invalid' });
    expect(scope.isDone()).toBe(true);
  });

  it('401 is permanent', async () => {
    const scope = posting()
      .post('/v1/customers')
      .reply(401, stripeError('invalid_request_error', undefined, 'Invalid API Key provided: sk_test_****KeyA'));
    expect(await failure(() => upsertNew())).toMatchObject({
      kind: 'permanent',
      status: 401,
      code: 'invalid_request_error',
    });
    expect(scope.isDone()).toBe(true);
  });

  it('404 on update: the customer lost at Stripe is created again, under an idempotency key of its own', async () => {
    const update = posting()
      .post('/v1/customers/cus_A1')
      .reply(404, stripeError('invalid_request_error', 'resource_missing', "No such customer: 'cus_A1'"));
    const create = stripe({ 'idempotency-key': `${ctx.idempotencyKey}-recreate` })
      .post('/v1/customers', (body: Record<string, unknown>) => body['metadata[pseudonym]'] === 'psd_7f3a')
      .reply(200, customer({ id: 'cus_N3' }));
    expect(await adapter().upsert!({ payload: { name: { given: GIVEN, family: FAMILY } }, ref: oldRef }, ctx)).toEqual({
      partnerId: 'cus_N3',
      created: true,
    });
    expect(update.isDone()).toBe(true);
    expect(create.isDone()).toBe(true);
  });

  it('a connection error is retryable', async () => {
    const scope = posting()
      .post('/v1/customers')
      .replyWithError(netError('ECONNREFUSED', `refused ${NAME}`));
    expect(await failure(() => upsertNew())).toMatchObject({
      kind: 'retryable',
      code: 'connection_error',
      status: undefined,
    });
    expect(scope.isDone()).toBe(true);
  });

  it('a reset connection is one request, not retried by the SDK (its one retry of a reset, which maxNetworkRetries: 0 does not stop, is refused)', async () => {
    // Strict nock: a second POST would match no mock and fail the test.
    const scope = posting().post('/v1/customers').replyWithError(netError('ECONNRESET', 'socket hang up'));
    expect(await failure(() => upsertNew())).toMatchObject({ kind: 'retryable', code: 'connection_error' });
    expect(scope.isDone()).toBe(true);
  });

  it('a timeout is retryable', async () => {
    const scope = posting().post('/v1/customers').delay(500).reply(200, customer());
    const slow = createStripeAdapter({ apiKey: KEY, timeoutMs: 50 });
    const err = await failure(() => slow.upsert!({ payload: {}, ref: newRef }, ctx));
    expect(err).toMatchObject({ kind: 'retryable', code: 'timeout' });
    expect(scope.isDone()).toBe(true);
  });
});

describe('clients', () => {
  it('two adapters with different keys never share credentials', async () => {
    const a = nock(API, { reqheaders: { authorization: 'Bearer sk_test_A' } })
      .delete('/v1/customers/cus_A1')
      .reply(200, { id: 'cus_A1', object: 'customer', deleted: true });
    const b = nock(API, { reqheaders: { authorization: 'Bearer sk_test_B' } })
      .delete('/v1/customers/cus_B2')
      .reply(200, { id: 'cus_B2', object: 'customer', deleted: true });
    const first = createStripeAdapter({ apiKey: 'sk_test_A' });
    const second = createStripeAdapter({ apiKey: 'sk_test_B' });
    await Promise.all([
      second.erase({ pseudonym: 'p', partnerIds: ['cus_B2'] }, 'delete', ctx),
      first.erase({ pseudonym: 'p', partnerIds: ['cus_A1'] }, 'delete', ctx),
    ]);
    expect(a.isDone()).toBe(true);
    expect(b.isDone()).toBe(true);
  });

  it('goes to the base URL it is given', async () => {
    const scope = nock('https://stripe.proxy.example:8443', { reqheaders: { authorization: `Bearer ${KEY}` } })
      .delete('/v1/customers/cus_A1')
      .reply(200, { id: 'cus_A1', object: 'customer', deleted: true });
    const redirected = createStripeAdapter({ apiKey: KEY, baseUrl: 'https://stripe.proxy.example:8443' });
    await redirected.erase({ pseudonym: 'p', partnerIds: ['cus_A1'] }, 'delete', ctx);
    expect(scope.isDone()).toBe(true);
  });

  it('refuses plain http except on loopback, and a base path', () => {
    expect(() => createStripeAdapter({ apiKey: KEY, baseUrl: 'http://stripe.example' })).toThrow(/https/);
    expect(() => createStripeAdapter({ apiKey: KEY, baseUrl: 'https://stripe.example/v2' })).toThrow(/path/);
    expect(() => createStripeAdapter({ apiKey: KEY, baseUrl: 'http://127.0.0.1:4010' })).not.toThrow();
  });
});

describe('stripePartner', () => {
  it('says what Stripe keeps after erasure', () => {
    expect(adapter().retainedAfterErasure.join(' ')).toMatch(/charges.*invoices.*disputes/);
  });
});
