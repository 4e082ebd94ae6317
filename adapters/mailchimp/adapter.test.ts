import { isDeepStrictEqual } from 'node:util';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import type { CallContext, PartnerPayload, UpsertInput } from '../../src/adapter.ts';
import { exactly, expectNoCanary, expectPartnerFailure, interceptHttp } from '../common/test-helpers.ts';
import { createMailchimpAdapter, subscriberHash } from './adapter.ts';

const CANARIES = {
  email: 'Canary-7f3a@Example.test',
  newEmail: 'canary-moved-5e6f@example.test',
  given: 'Canarygiven-9b1c',
  family: 'Canaryfamily-4d2e',
  phone: '+46700007f3a0',
  street: 'Canarystreet 3a',
  pseudonym: 'pseudonym-canary-1e2f',
};
const KEY = 'key-aaaa0000-us21';
const HOST = 'https://us21.api.mailchimp.com';
const LIST = 'list0000aa';
const HASH = subscriberHash(CANARIES.email);
const MEMBER = `/3.0/lists/${LIST}/members/${HASH}`;
const ctx: CallContext = { correlationId: 'corr-1', idempotencyKey: 'idem-1' };

const basic = (key: string) => `Basic ${Buffer.from(`user:${key}`).toString('base64')}`;
const api = (host = HOST, key = KEY) => nock(host).matchHeader('authorization', basic(key));
const adapter = (extra: Partial<Parameters<typeof createMailchimpAdapter>[0]> = {}) =>
  createMailchimpAdapter({ apiKey: KEY, server: 'us21', listId: LIST, ...extra });

/** Everything the record could hold: the adapter must send only email and name. */
const fullPayload: PartnerPayload = {
  email: CANARIES.email,
  name: { given: CANARIES.given, family: CANARIES.family },
  phone: CANARIES.phone,
  address: { street: CANARIES.street, postalCode: '11122', city: 'Stockholm', country: 'SE' },
};
const input = (over: Partial<UpsertInput> = {}): UpsertInput => ({
  payload: fullPayload,
  ref: { pseudonym: CANARIES.pseudonym, partnerIds: [] },
  ...over,
});

const failure = (pending: Promise<unknown>) =>
  expectPartnerFailure(pending, Object.values(CANARIES), { where: 'message', ignoreCase: true });

const problem = (status: number, title: string) => ({
  type: 'https://mailchimp.com/developer/marketing/docs/errors/',
  title,
  status,
  detail: `${CANARIES.email} ${CANARIES.given} is the problem`,
  instance: 'a1b2c3',
});
/** Mailchimp answers a PUT, PATCH or GET with the member, keyed by its subscriber hash. */
const memberAnswer = { id: HASH, email_address: CANARIES.email, status: 'subscribed' };
const problemHeaders = { 'Content-Type': 'application/problem+json; charset=utf-8' };

interceptHttp();

describe('mailchimp adapter: upsert', () => {
  it('creates a subscribed member with email and name only, when the consent ledger says so', async () => {
    const scope = api()
      .put(
        MEMBER,
        exactly({
          email_address: CANARIES.email,
          merge_fields: { FNAME: CANARIES.given, LNAME: CANARIES.family },
          status: 'subscribed',
        }),
      )
      .reply(200, { id: HASH, email_address: CANARIES.email, status: 'subscribed' });
    const result = await adapter().upsert!(input({ subscription: 'subscribed' }), ctx);
    expect(result).toEqual({ partnerId: HASH, created: true });
    expect(scope.isDone()).toBe(true);
  });

  it('writes no status on a plain update: only status_if_new, which leaves an existing member alone', async () => {
    const scope = api()
      .put(
        MEMBER,
        exactly({
          email_address: CANARIES.email,
          merge_fields: { FNAME: CANARIES.given, LNAME: CANARIES.family },
          status_if_new: 'unsubscribed',
        }),
      )
      .reply(200, { id: HASH, email_address: CANARIES.email, status: 'unsubscribed' });
    const result = await adapter().upsert!(input({ ref: { pseudonym: CANARIES.pseudonym, partnerIds: [HASH] } }), ctx);
    expect(result).toEqual({ partnerId: HASH, created: false });
    expect(scope.isDone()).toBe(true);
  });

  it('sends no merge fields when the payload has no name', async () => {
    const scope = api()
      .put(MEMBER, exactly({ email_address: CANARIES.email, status_if_new: 'unsubscribed' }))
      .reply(200, memberAnswer);
    await adapter().upsert!(
      input({ payload: { email: CANARIES.email }, ref: { pseudonym: 'p', partnerIds: [HASH] } }),
      ctx,
    );
    expect(scope.isDone()).toBe(true);
  });

  it('changes the address with a PUT to the old hash and returns the new hash', async () => {
    const scope = api()
      .put(
        MEMBER,
        exactly({
          email_address: CANARIES.newEmail,
          merge_fields: { FNAME: CANARIES.given, LNAME: CANARIES.family },
          status_if_new: 'unsubscribed',
        }),
      )
      .reply(200, { id: subscriberHash(CANARIES.newEmail) });
    const result = await adapter().upsert!(
      input({ payload: { ...fullPayload, email: CANARIES.newEmail }, ref: { pseudonym: 'p', partnerIds: [HASH] } }),
      ctx,
    );
    expect(result).toEqual({ partnerId: subscriberHash(CANARIES.newEmail), created: false });
    expect(scope.isDone()).toBe(true);
  });

  it('clears a removed name with empty merge fields on update, and sends nothing else extra', async () => {
    const scope = api()
      .put(
        MEMBER,
        exactly({
          email_address: CANARIES.email,
          merge_fields: { FNAME: '', LNAME: '' },
          status_if_new: 'unsubscribed',
        }),
      )
      .reply(200, { id: HASH, email_address: CANARIES.email, status: 'subscribed' });
    const result = await adapter().upsert!(
      input({
        payload: { email: CANARIES.email },
        ref: { pseudonym: 'p', partnerIds: [HASH] },
        cleared: ['name.given', 'name.family'],
      }),
      ctx,
    );
    expect(result).toEqual({ partnerId: HASH, created: false });
    expect(scope.isDone()).toBe(true);
  });

  it('ignores cleared fields Mailchimp does not hold, and a name the payload still carries', async () => {
    const scope = api()
      .put(MEMBER, exactly({ email_address: CANARIES.email, status_if_new: 'unsubscribed' }))
      .reply(200, memberAnswer)
      .put(
        MEMBER,
        exactly({
          email_address: CANARIES.email,
          merge_fields: { FNAME: CANARIES.given, LNAME: CANARIES.family },
          status_if_new: 'unsubscribed',
        }),
      )
      .reply(200, memberAnswer);
    const ref = { pseudonym: 'p', partnerIds: [HASH] };
    await adapter().upsert!(
      input({ payload: { email: CANARIES.email }, ref, cleared: ['phone', 'address.street'] }),
      ctx,
    );
    await adapter().upsert!(
      input({ payload: { ...fullPayload, phone: undefined }, ref, cleared: ['phone', 'name.given'] }),
      ctx,
    );
    expect(scope.isDone()).toBe(true);
  });

  it('ignores cleared on create', async () => {
    const scope = api()
      .put(MEMBER, exactly({ email_address: CANARIES.email, status: 'subscribed' }))
      .reply(200, { id: HASH, email_address: CANARIES.email, status: 'subscribed' });
    const result = await adapter().upsert!(
      input({ payload: { email: CANARIES.email }, subscription: 'subscribed', cleared: ['name.given', 'name.family'] }),
      ctx,
    );
    expect(result).toEqual({ partnerId: HASH, created: true });
    expect(scope.isDone()).toBe(true);
  });

  it('refuses a payload without an address before calling Mailchimp', async () => {
    const err = await failure(adapter().upsert!(input({ payload: { name: fullPayload.name! } }), ctx));
    expect(err).toMatchObject({ kind: 'permanent', code: 'missing_email' });
  });
});

describe('mailchimp adapter: suppress, erase, fetch', () => {
  const ref = { pseudonym: CANARIES.pseudonym, partnerIds: [HASH] };

  it('suppress sets unsubscribed on the member and sends nothing else', async () => {
    const scope = api()
      .patch(MEMBER, exactly({ status: 'unsubscribed' }))
      .reply(200, { ...memberAnswer, status: 'unsubscribed' });
    expect(await adapter().suppress!(ref, ctx)).toEqual({ partnerId: HASH });
    expect(scope.isDone()).toBe(true);
  });

  it('suppress of a member Mailchimp no longer has is nothing to do', async () => {
    const scope = api()
      .patch(MEMBER, exactly({ status: 'unsubscribed' }))
      .reply(404, problem(404, 'Resource Not Found'), problemHeaders);
    expect(await adapter().suppress!(ref, ctx)).toEqual({ partnerId: HASH });
    expect(scope.isDone()).toBe(true);
  });

  it('erase mode delete deletes permanently', async () => {
    const scope = api()
      // No body: nock hands an empty one over as '' or as an empty (null-prototype) object.
      .post(`${MEMBER}/actions/delete-permanent`, (body) => body === '' || isDeepStrictEqual({ ...body }, {}))
      .reply(204);
    expect(await adapter().erase(ref, 'delete', ctx)).toEqual({ removed: [HASH] });
    expect(scope.isDone()).toBe(true);
  });

  it('erase treats 404 as already gone', async () => {
    const scope = api()
      .post(`${MEMBER}/actions/delete-permanent`)
      .reply(404, problem(404, 'Resource Not Found'), problemHeaders);
    expect(await adapter().erase(ref, 'delete', ctx)).toEqual({ removed: [HASH] });
    expect(scope.isDone()).toBe(true);
  });

  it('erase mode archive archives (DELETE), and a subject Mailchimp never had needs no call', async () => {
    const scope = api().delete(MEMBER).reply(204);
    expect(await adapter().erase(ref, 'archive', ctx)).toEqual({ removed: [HASH] });
    expect(await adapter().erase({ pseudonym: 'p', partnerIds: [] }, 'delete', ctx)).toEqual({ removed: [] });
    expect(scope.isDone()).toBe(true);
  });

  it('fetch maps what Mailchimp holds to our field names', async () => {
    const scope = api()
      .get(MEMBER)
      .reply(200, {
        id: HASH,
        email_address: CANARIES.email,
        status: 'unsubscribed',
        merge_fields: { FNAME: CANARIES.given, LNAME: CANARIES.family, PHONE: '' },
        last_changed: '2025-01-02T03:04:05+00:00',
      });
    expect(await adapter().fetch!(ref, ctx)).toEqual({
      found: true,
      fields: {
        email: CANARIES.email,
        'name.given': CANARIES.given,
        'name.family': CANARIES.family,
        status: 'unsubscribed',
        last_changed: '2025-01-02T03:04:05+00:00',
      },
    });
    expect(scope.isDone()).toBe(true);
  });

  it('reads the ids of unsubscribed members page by page, asking for ids only, since a time when given', async () => {
    const other = 'f'.repeat(32);
    const first = Array.from({ length: 1000 }, (_, i) => ({ id: i === 0 ? HASH : i.toString(16).padStart(32, '0') }));
    const asked: Record<string, string>[] = [];
    const scope = api()
      .get(`/3.0/lists/${LIST}/members`)
      .query((q) => (asked.push(q as Record<string, string>), (q.offset ?? '0') === '0'))
      .reply(200, { members: first, total_items: 1001 })
      .get(`/3.0/lists/${LIST}/members`)
      .query((q) => (asked.push(q as Record<string, string>), q.offset === '1000'))
      // An id that is not a subscriber hash is never passed on.
      .reply(200, { members: [{ id: other }, { id: '../x' }], total_items: 1001 });
    const ids = await adapter().unsubscribedSince!(new Date('2026-03-01T00:00:00Z'), ctx);
    expect(ids).toHaveLength(1001);
    expect(ids[0]).toBe(HASH);
    expect(ids.at(-1)).toBe(other);
    expect(asked[0]).toMatchObject({
      status: 'unsubscribed',
      fields: 'members.id,members.last_changed,total_items',
      count: '1000',
      since_last_changed: '2026-03-01T00:00:00.000Z',
    });
    expect(scope.isDone()).toBe(true);
  });

  it('an unsubscribed list it cannot read is a failure, not "nobody unsubscribed"', async () => {
    const scope = api()
      .get(`/3.0/lists/${LIST}/members`)
      .query(true)
      .reply(200, { members: [{ email_address: CANARIES.email }] });
    await expect(adapter().unsubscribedSince!(undefined, ctx)).rejects.toMatchObject({ code: 'unexpected_answer' });
    expect(scope.isDone()).toBe(true);
  });

  it('fetch of a member that is gone is found: false', async () => {
    const scope = api().get(MEMBER).reply(404, problem(404, 'Resource Not Found'), problemHeaders);
    expect(await adapter().fetch!(ref, ctx)).toEqual({ found: false, fields: {} });
    expect(scope.isDone()).toBe(true);
  });
});

describe('mailchimp adapter: upsertBatch', () => {
  const email = (i: number) => `canary-batch-${i}@example.test`;
  const batchInput = (i: number): UpsertInput => ({
    payload: { email: email(i), name: { given: `G${i}`, family: `F${i}` }, phone: CANARIES.phone },
    ref: { pseudonym: `p${i}`, partnerIds: [] },
    subscription: 'subscribed',
  });
  const member = (i: number) => ({
    email_address: email(i),
    status: 'subscribed',
    merge_fields: { FNAME: `G${i}`, LNAME: `F${i}` },
  });

  it('sends consent grants in batches of at most 500 and plain updates one by one without a status', async () => {
    const granted = Array.from({ length: 501 }, (_, i) => batchInput(i));
    const plain: UpsertInput = { payload: { email: CANARIES.email }, ref: { pseudonym: 'px', partnerIds: [HASH] } };
    const noEmail: UpsertInput = { payload: { name: fullPayload.name! }, ref: { pseudonym: 'py', partnerIds: [] } };
    const sizes: number[] = [];
    const batchBody = (from: number, to: number) => (body: { members: unknown[] }) => {
      sizes.push(body.members.length);
      return isDeepStrictEqual(body, {
        members: Array.from({ length: to - from }, (_, k) => member(from + k)),
        update_existing: true,
      });
    };
    const scope = api()
      .post(`/3.0/lists/${LIST}`, batchBody(0, 500))
      .reply(200, {
        new_members: Array.from({ length: 499 }, (_, i) => ({
          id: subscriberHash(email(i)),
          email_address: email(i).toUpperCase(),
        })),
        updated_members: [],
        errors: [
          { email_address: email(499), error: `${email(499)} looks fake or invalid`, error_code: 'ERROR_GENERIC' },
        ],
        total_created: 499,
        total_updated: 0,
        error_count: 1,
      })
      .post(`/3.0/lists/${LIST}`, batchBody(500, 501))
      .reply(200, { new_members: [], updated_members: [{ email_address: email(500) }], errors: [], error_count: 0 })
      .put(MEMBER, exactly({ email_address: CANARIES.email, status_if_new: 'unsubscribed' }))
      .reply(200, memberAnswer);

    const results = await adapter().upsertBatch!([noEmail, ...granted, plain], ctx);

    expect(sizes).toEqual([500, 1]);
    expect(results).toHaveLength(503);
    expect(results[0]).toMatchObject({ ok: false, error: { code: 'missing_email', kind: 'permanent' } });
    expect(results[1]).toEqual({ ok: true, partnerId: subscriberHash(email(0)), created: true });
    expect(results[500]).toMatchObject({ ok: false, error: { code: 'ERROR_GENERIC', kind: 'permanent' } });
    expect(results[501]).toEqual({ ok: true, partnerId: subscriberHash(email(500)), created: false });
    expect(results[502]).toEqual({ ok: true, partnerId: HASH, created: false });
    for (const r of results)
      if (!r.ok) expectNoCanary(r.error.message + email(499), Object.values(CANARIES), { ignoreCase: true });
    expect(scope.isDone()).toBe(true);
  });

  it('a batched consent grant clears a removed name of a known member, never of a new one', async () => {
    const known: UpsertInput = {
      payload: { email: email(1) },
      ref: { pseudonym: 'p1', partnerIds: [subscriberHash(email(1))] },
      subscription: 'subscribed',
      cleared: ['name.given', 'name.family'],
    };
    const fresh: UpsertInput = { ...known, payload: { email: email(2) }, ref: { pseudonym: 'p2', partnerIds: [] } };
    const scope = api()
      .post(
        `/3.0/lists/${LIST}`,
        exactly({
          members: [
            { email_address: email(1), status: 'subscribed', merge_fields: { FNAME: '', LNAME: '' } },
            { email_address: email(2), status: 'subscribed' },
          ],
          update_existing: true,
        }),
      )
      .reply(200, {
        new_members: [{ email_address: email(2) }],
        updated_members: [{ email_address: email(1) }],
        errors: [],
      });
    expect(await adapter().upsertBatch!([known, fresh], ctx)).toEqual([
      { ok: true, partnerId: subscriberHash(email(1)), created: false },
      { ok: true, partnerId: subscriberHash(email(2)), created: true },
    ]);
    expect(scope.isDone()).toBe(true);
  });

  it('stops the one-by-one part at the first retryable failure', async () => {
    const plain = (e: string): UpsertInput => ({
      payload: { email: e },
      ref: { pseudonym: 'p', partnerIds: [subscriberHash(e)] },
    });
    const scope = api()
      .put(`/3.0/lists/${LIST}/members/${subscriberHash(email(1))}`)
      .reply(429, problem(429, 'Too Many Requests'), { ...problemHeaders, 'Retry-After': '2' });
    const results = await adapter().upsertBatch!([plain(email(1)), plain(email(2))], ctx);
    for (const r of results) expect(r).toMatchObject({ ok: false, error: { kind: 'retryable', retryAfterMs: 2000 } });
    expect(scope.isDone()).toBe(true);
  });
});

describe('mailchimp adapter: failures', () => {
  const plainUpdate = () => adapter().upsert!(input({ ref: { pseudonym: 'p', partnerIds: [HASH] } }), ctx);

  it('429 is retryable with Retry-After', async () => {
    const scope = api()
      .put(MEMBER)
      .reply(429, problem(429, 'Too Many Requests'), { ...problemHeaders, 'Retry-After': '7' });
    const err = await failure(plainUpdate());
    expect(err).toMatchObject({ kind: 'retryable', status: 429, code: 'too_many_requests', retryAfterMs: 7000 });
    expect(scope.isDone()).toBe(true);
  });

  it('500 is retryable and is not retried', async () => {
    const scope = api().put(MEMBER).once().reply(500, problem(500, 'Internal Server Error'), problemHeaders);
    const err = await failure(plainUpdate());
    expect(err).toMatchObject({ kind: 'retryable', status: 500, code: 'internal_server_error' });
    expect(scope.isDone()).toBe(true);
  });

  it.each([
    [400, 'Invalid Resource', 'invalid_resource'],
    [400, 'Forgotten Email Not Subscribed', 'forgotten_email_not_subscribed'],
    [401, 'API Key Invalid', 'api_key_invalid'],
  ])('%i %s is permanent with the documented title as code', async (status, title, code) => {
    api().put(MEMBER).reply(status, problem(status, title), problemHeaders);
    const err = await failure(plainUpdate());
    expect(err).toMatchObject({ kind: 'permanent', status, code });
  });

  it('a title Mailchimp does not document never becomes a code, whatever it echoes', async () => {
    const echoes = [KEY, CANARIES.email, `Invalid ${CANARIES.email}`, 'Member_Exists_x'];
    for (const title of echoes) api().put(MEMBER).reply(400, problem(400, title), problemHeaders);
    for (const title of echoes) {
      const err = await failure(plainUpdate());
      expect(err).toMatchObject({ kind: 'permanent', status: 400, code: undefined });
      expectNoCanary(`${err.message} ${JSON.stringify(err)}`, [title, KEY, CANARIES.email], { ignoreCase: true });
    }
  });

  it.each([301, 302, 307, 308])('a %i is refused and never followed, and the process stays up', async (status) => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      // Strict nock: a followed redirect would reach evil.example, which no mock answers.
      const scope = api()
        .put(MEMBER)
        .reply(status, memberAnswer, { Location: `https://evil.example${MEMBER}` });
      const err = await failure(plainUpdate());
      expect(err).toMatchObject({ kind: 'retryable', status, code: 'redirect_refused' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(scope.isDone()).toBe(true);
      expect(uncaught.map(String)).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('a connection error is retryable', async () => {
    const scope = api()
      .put(MEMBER)
      .replyWithError(Object.assign(new Error(`refused ${CANARIES.email}`), { code: 'ECONNREFUSED' }));
    const err = await failure(plainUpdate());
    expect(err).toMatchObject({ kind: 'retryable', code: 'connection_error', status: undefined });
    expect(err.message).toContain('network ECONNREFUSED');
    expect(scope.isDone()).toBe(true);
  });

  it('a timeout is retryable', async () => {
    const scope = api().get(MEMBER).delay(300).reply(200, {});
    const err = await failure(adapter({ timeoutMs: 50 }).fetch!({ pseudonym: 'p', partnerIds: [HASH] }, ctx));
    expect(err).toMatchObject({ kind: 'retryable', code: 'timeout' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(scope.isDone()).toBe(true);
  });

  it('an erase that fails for another reason than 404 throws', async () => {
    const scope = api().delete(MEMBER).reply(405, problem(405, 'Method Not Allowed'), problemHeaders);
    const err = await failure(adapter().erase({ pseudonym: 'p', partnerIds: [HASH] }, 'archive', ctx));
    expect(err).toMatchObject({ kind: 'permanent', status: 405, code: 'method_not_allowed' });
    expect(scope.isDone()).toBe(true);
  });
});

describe('mailchimp adapter: instances and base URL', () => {
  it('two adapters with different accounts in one process never cross', async () => {
    const other = { key: 'key-bbbb1111-us7', host: 'https://us7.api.mailchimp.com', list: 'list1111bb' };
    const third = { key: 'key-cccc2222-us21', list: 'list2222cc' };
    const a = api()
      .get(MEMBER)
      .delay(30)
      .reply(200, { id: HASH, email_address: 'a@example.test', status: 'subscribed' });
    const b = api(other.host, other.key)
      .get(`/3.0/lists/${other.list}/members/${HASH}`)
      .reply(200, { id: HASH, email_address: 'b@example.test', status: 'subscribed' });
    const c = api(HOST, third.key)
      .get(`/3.0/lists/${third.list}/members/${HASH}`)
      .reply(200, { id: HASH, email_address: 'c@example.test', status: 'subscribed' });
    const ref = { pseudonym: 'p', partnerIds: [HASH] };
    const held = await Promise.all([
      adapter().fetch!(ref, ctx),
      createMailchimpAdapter({ apiKey: other.key, server: 'us7', listId: other.list }).fetch!(ref, ctx),
      createMailchimpAdapter({ apiKey: third.key, server: 'us21', listId: third.list }).fetch!(ref, ctx),
    ]);
    expect(held.map((h) => h.fields.email)).toEqual(['a@example.test', 'b@example.test', 'c@example.test']);
    expect([a.isDone(), b.isDone(), c.isDone()]).toEqual([true, true, true]);
  });

  it('follows baseUrl, appending /3.0 when it is missing', async () => {
    const scope = api('https://mailchimp-proxy.example.test')
      .get(`/prefix/3.0/lists/${LIST}/members/${HASH}`)
      .reply(404, problem(404, 'Resource Not Found'), problemHeaders);
    const held = await adapter({ baseUrl: 'https://mailchimp-proxy.example.test/prefix/' }).fetch!(
      { pseudonym: 'p', partnerIds: [HASH] },
      ctx,
    );
    expect(held.found).toBe(false);
    expect(scope.isDone()).toBe(true);
  });

  it('refuses plain http except on loopback, and a server prefix that is not one', () => {
    expect(() => adapter({ baseUrl: 'http://mailchimp.example.test/3.0' })).toThrow(/https/);
    expect(() => adapter({ baseUrl: 'http://127.0.0.1:9/3.0' })).not.toThrow();
    expect(() => adapter({ server: 'evil.example.test/x' })).toThrow(/server/);
  });
});
