import nock from 'nock';
import { describe, expect, it } from 'vitest';
import type { CallContext, PartnerPayload } from '../../src/adapter.ts';
import { exactly, expectPartnerFailure, interceptHttp, netError } from '../common/test-helpers.ts';
import { createIntercomAdapter, INTERCOM_EU_BASE_URL } from './adapter.ts';

const BASE = 'https://api.intercom.io';
const TOKEN = 'tok-intercom-a';
const HEADERS = { authorization: `Bearer ${TOKEN}`, 'intercom-version': '2.14' };

// Unique strings: if one ever shows up in an error, personal data leaked into it.
const CANARIES = ['Canary7f3a', 'Kanarie9b2c', 'canary-9b2c@example.test', '+46701239472', 'psn-canary-51d0'];
const payload: PartnerPayload = {
  name: { given: 'Canary7f3a', family: 'Kanarie9b2c' },
  email: 'canary-9b2c@example.test',
  phone: '+46701239472',
};
const pseudonym = 'psn-canary-51d0';
const ctx: CallContext = { correlationId: 'corr-1', idempotencyKey: 'idem-1' };
const fields = { external_id: pseudonym, email: payload.email, name: 'Canary7f3a Kanarie9b2c', phone: payload.phone };
const contact = (id: string) => ({ type: 'contact', id, role: 'user', ...fields });

const api = (base = BASE, headers: Record<string, string> = HEADERS) => nock(base, { reqheaders: headers });
const adapter = (timeoutMs?: number) => createIntercomAdapter({ accessToken: TOKEN, timeoutMs });

const failure = (pending: Promise<unknown>) => expectPartnerFailure(pending, CANARIES, { where: 'everywhere' });

const echoError = (code: string) => ({
  type: 'error.list',
  errors: [{ code, message: `bad value canary-9b2c@example.test for Canary7f3a` }],
});

const connectionReset = () => netError('ECONNRESET', 'reset canary-9b2c@example.test');

interceptHttp();

describe('intercom upsert', () => {
  it('creates a user with exactly the payload fields and the pseudonym', async () => {
    const scope = api()
      .post('/contacts', exactly({ role: 'user', ...fields }))
      .reply(200, contact('c1'));
    await expect(adapter().upsert!({ payload, ref: { pseudonym, partnerIds: [] } }, ctx)).resolves.toEqual({
      partnerId: 'c1',
      created: true,
    });
    expect(scope.isDone()).toBe(true);
  });

  it('sends only the fields present in the payload', async () => {
    const scope = api()
      .post('/contacts', exactly({ role: 'user', external_id: pseudonym, email: payload.email }))
      .reply(200, contact('c2'));
    await adapter().upsert!({ payload: { email: payload.email! }, ref: { pseudonym, partnerIds: [] } }, ctx);
    expect(scope.isDone()).toBe(true);
  });

  it('updates a known contact without role', async () => {
    const scope = api().put('/contacts/c1', exactly(fields)).reply(200, contact('c1'));
    await expect(adapter().upsert!({ payload, ref: { pseudonym, partnerIds: ['c1'] } }, ctx)).resolves.toEqual({
      partnerId: 'c1',
      created: false,
    });
    expect(scope.isDone()).toBe(true);
  });

  it('treats 409 on create as "update instead": find by external_id, then PUT', async () => {
    const scope = api()
      .post('/contacts', exactly({ role: 'user', ...fields }))
      .reply(409, {
        type: 'error.list',
        errors: [{ code: 'conflict', message: 'A contact matching those details already exists with id=c9' }],
      })
      .get(`/contacts/find_by_external_id/${pseudonym}`)
      .reply(200, contact('c9'))
      .put('/contacts/c9', exactly(fields))
      .reply(200, contact('c9'));
    await expect(adapter().upsert!({ payload, ref: { pseudonym, partnerIds: [] } }, ctx)).resolves.toEqual({
      partnerId: 'c9',
      created: false,
    });
    expect(scope.isDone()).toBe(true);
  });

  it('re-creates a contact that was deleted at Intercom behind our back', async () => {
    const scope = api()
      .put('/contacts/gone', exactly(fields))
      .reply(404, { type: 'error.list', errors: [{ code: 'not_found', message: 'Contact Not Found' }] })
      .post('/contacts', exactly({ role: 'user', ...fields }))
      .reply(200, contact('c3'));
    await expect(adapter().upsert!({ payload, ref: { pseudonym, partnerIds: ['gone'] } }, ctx)).resolves.toEqual({
      partnerId: 'c3',
      created: true,
    });
    expect(scope.isDone()).toBe(true);
  });

  it('clears a removed phone with null on update, and sends nothing else extra', async () => {
    const { phone: _, ...withoutPhone } = payload;
    const { phone: __, ...rest } = fields;
    const scope = api()
      .put('/contacts/c1', exactly({ ...rest, phone: null }))
      .reply(200, contact('c1'));
    await expect(
      adapter().upsert!({ payload: withoutPhone, ref: { pseudonym, partnerIds: ['c1'] }, cleared: ['phone'] }, ctx),
    ).resolves.toEqual({ partnerId: 'c1', created: false });
    expect(scope.isDone()).toBe(true);
  });

  it('clears a removed name with null; a cleared email (not nullable at Intercom) or address is not sent', async () => {
    const scope = api()
      .put('/contacts/c1', exactly({ external_id: pseudonym, phone: payload.phone, name: null }))
      .reply(200, contact('c1'));
    await adapter().upsert!(
      {
        payload: { phone: payload.phone! },
        ref: { pseudonym, partnerIds: ['c1'] },
        cleared: ['name.given', 'name.family', 'email', 'address.street', 'address.city'],
      },
      ctx,
    );
    expect(scope.isDone()).toBe(true);
  });

  it('never clears a field the payload still carries', async () => {
    const scope = api().put('/contacts/c1', exactly(fields)).reply(200, contact('c1'));
    await adapter().upsert!({ payload, ref: { pseudonym, partnerIds: ['c1'] }, cleared: ['phone', 'name.given'] }, ctx);
    expect(scope.isDone()).toBe(true);
  });

  it('ignores cleared on create, also when a vanished contact is re-created', async () => {
    const { phone: _, ...withoutPhone } = payload;
    const { phone: __, ...rest } = fields;
    const scope = api()
      .post('/contacts', exactly({ role: 'user', ...rest }))
      .reply(200, contact('c4'))
      .put('/contacts/gone', exactly({ ...rest, phone: null }))
      .reply(404, { type: 'error.list', errors: [{ code: 'not_found', message: 'Contact Not Found' }] })
      .post('/contacts', exactly({ role: 'user', ...rest }))
      .reply(200, contact('c5'));
    await expect(
      adapter().upsert!({ payload: withoutPhone, ref: { pseudonym, partnerIds: [] }, cleared: ['phone'] }, ctx),
    ).resolves.toEqual({ partnerId: 'c4', created: true });
    await expect(
      adapter().upsert!({ payload: withoutPhone, ref: { pseudonym, partnerIds: ['gone'] }, cleared: ['phone'] }, ctx),
    ).resolves.toEqual({ partnerId: 'c5', created: true });
    expect(scope.isDone()).toBe(true);
  });

  it('clears on the update that follows a 409 on create', async () => {
    const { phone: _, ...withoutPhone } = payload;
    const { phone: __, ...rest } = fields;
    const scope = api()
      .post('/contacts', exactly({ role: 'user', ...rest }))
      .reply(409, {
        type: 'error.list',
        errors: [{ code: 'conflict', message: 'A contact matching those details already exists with id=c9' }],
      })
      .get(`/contacts/find_by_external_id/${pseudonym}`)
      .reply(200, contact('c9'))
      .put('/contacts/c9', exactly({ ...rest, phone: null }))
      .reply(200, contact('c9'));
    await expect(
      adapter().upsert!({ payload: withoutPhone, ref: { pseudonym, partnerIds: [] }, cleared: ['phone'] }, ctx),
    ).resolves.toEqual({ partnerId: 'c9', created: false });
    expect(scope.isDone()).toBe(true);
  });

  it('talks to the EU region when pointed there', async () => {
    const scope = api(INTERCOM_EU_BASE_URL)
      .post('/contacts', exactly({ role: 'user', ...fields }))
      .reply(200, contact('eu1'));
    const eu = createIntercomAdapter({ accessToken: TOKEN, baseUrl: INTERCOM_EU_BASE_URL });
    await eu.upsert!({ payload, ref: { pseudonym, partnerIds: [] } }, ctx);
    expect(scope.isDone()).toBe(true);
  });
});

describe('intercom erase and fetch', () => {
  it('deletes a known contact; 404 counts as already gone', async () => {
    const scope = api()
      .delete('/contacts/c1')
      .reply(200, { id: 'c1', external_id: pseudonym, type: 'contact', deleted: true })
      .delete('/contacts/c2')
      .reply(404, { type: 'error.list', errors: [{ code: 'not_found', message: 'Contact Not Found' }] });
    await expect(adapter().erase({ pseudonym, partnerIds: ['c1', 'c2'] }, 'delete', ctx)).resolves.toEqual({
      removed: ['c1', 'c2'],
    });
    expect(scope.isDone()).toBe(true);
  });

  it('finds the contact by external_id when no id is known', async () => {
    const scope = api()
      .get(`/contacts/find_by_external_id/${pseudonym}`)
      .reply(200, contact('c5'))
      .delete('/contacts/c5')
      .reply(200, { id: 'c5', type: 'contact', deleted: true });
    await expect(adapter().erase({ pseudonym, partnerIds: [] }, 'delete', ctx)).resolves.toEqual({ removed: ['c5'] });
    expect(scope.isDone()).toBe(true);
  });

  it('succeeds with nothing removed when Intercom never knew the subject', async () => {
    const scope = api().get(`/contacts/find_by_external_id/${pseudonym}`).reply(404, echoError('not_found'));
    await expect(adapter().erase({ pseudonym, partnerIds: [] }, 'delete', ctx)).resolves.toEqual({ removed: [] });
    expect(scope.isDone()).toBe(true);
  });

  it('archives in archive mode', async () => {
    const scope = api().post('/contacts/c1/archive').reply(200, { id: 'c1', type: 'contact', archived: true });
    await expect(adapter().erase({ pseudonym, partnerIds: ['c1'] }, 'archive', ctx)).resolves.toEqual({
      removed: ['c1'],
    });
    expect(scope.isDone()).toBe(true);
  });

  it('restricts by archiving and unrestricts by unarchiving; a gone contact is no failure', async () => {
    const scope = api()
      .post('/contacts/c1/archive')
      .reply(200, { id: 'c1', type: 'contact', archived: true })
      .post('/contacts/c1/unarchive')
      .reply(200, { id: 'c1', type: 'contact', archived: false })
      .get(`/contacts/find_by_external_id/${pseudonym}`)
      .reply(200, contact('c7'))
      .post('/contacts/c7/archive')
      .reply(404, echoError('not_found'));
    await expect(adapter().restrict!({ pseudonym, partnerIds: ['c1'] }, ctx)).resolves.toEqual({ partnerIds: ['c1'] });
    await expect(adapter().unrestrict!({ pseudonym, partnerIds: ['c1'] }, ctx)).resolves.toEqual({
      partnerIds: ['c1'],
    });
    // No id known (a create whose answer was lost): found by the pseudonym.
    await expect(adapter().restrict!({ pseudonym, partnerIds: [] }, ctx)).resolves.toEqual({ partnerIds: ['c7'] });
    expect(scope.isDone()).toBe(true);
  });

  it('a restriction refused by Intercom is a failure, never a success', async () => {
    const scope = api().post('/contacts/c1/archive').reply(401, echoError('unauthorized'));
    await expect(adapter().restrict!({ pseudonym, partnerIds: ['c1'] }, ctx)).rejects.toMatchObject({
      status: 401,
      kind: 'permanent',
    });
    expect(scope.isDone()).toBe(true);
  });

  it('fetches what Intercom holds, and found:false when gone', async () => {
    const scope = api()
      .get('/contacts/c1')
      .reply(200, { ...contact('c1'), location: { type: 'location', country: 'Sweden', region: null, city: null } })
      .get('/contacts/c2')
      .reply(404, echoError('not_found'));
    await expect(adapter().fetch!({ pseudonym, partnerIds: ['c1'] }, ctx)).resolves.toEqual({
      found: true,
      fields: { name: fields.name, email: fields.email, phone: fields.phone, 'location.country': 'Sweden' },
    });
    await expect(adapter().fetch!({ pseudonym, partnerIds: ['c2'] }, ctx)).resolves.toEqual({
      found: false,
      fields: {},
    });
    expect(scope.isDone()).toBe(true);
  });
});

describe('intercom failures', () => {
  const upsert = (a = adapter()) => a.upsert!({ payload, ref: { pseudonym, partnerIds: ['c1'] } }, ctx);

  it('429 with only X-RateLimit-Reset is retryable after the reset', async () => {
    const reset = Math.floor(Date.now() / 1000) + 30;
    const scope = api()
      .put('/contacts/c1')
      .reply(429, echoError('rate_limit_exceeded'), {
        'X-RateLimit-Limit': '1667',
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': String(reset),
      });
    const err = await failure(upsert());
    expect(err).toMatchObject({ kind: 'retryable', status: 429, code: 'rate_limit_exceeded' });
    expect(err.retryAfterMs).toBeGreaterThan(28_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(30_000);
    expect(scope.isDone()).toBe(true);
  });

  it('429 with Retry-After uses it', async () => {
    const scope = api().put('/contacts/c1').reply(429, echoError('rate_limit_exceeded'), { 'Retry-After': '7' });
    expect(await failure(upsert())).toMatchObject({ kind: 'retryable', retryAfterMs: 7000 });
    expect(scope.isDone()).toBe(true);
  });

  it('500 is retryable', async () => {
    const scope = api().put('/contacts/c1').reply(500, echoError('server_error'));
    expect(await failure(upsert())).toMatchObject({ kind: 'retryable', status: 500, code: 'server_error' });
    expect(scope.isDone()).toBe(true);
  });

  it('400 and 401 are permanent with the partner code', async () => {
    const scope = api()
      .put('/contacts/c1')
      .reply(400, echoError('parameter_invalid'))
      .put('/contacts/c1')
      .reply(401, echoError('unauthorized'));
    expect(await failure(upsert())).toMatchObject({ kind: 'permanent', status: 400, code: 'parameter_invalid' });
    expect(await failure(upsert())).toMatchObject({ kind: 'permanent', status: 401, code: 'unauthorized' });
    expect(scope.isDone()).toBe(true);
  });

  it('never takes an error code that looks like data', async () => {
    const scope = api().put('/contacts/c1').reply(400, echoError('canary-9b2c@example.test'));
    expect((await failure(upsert())).code).toBeUndefined();
    expect(scope.isDone()).toBe(true);
  });

  it('a timeout is retryable', async () => {
    const scope = api().put('/contacts/c1').delay(500).reply(200, contact('c1'));
    expect(await failure(upsert(adapter(50)))).toMatchObject({
      kind: 'retryable',
      status: undefined,
      code: 'timeout',
    });
    expect(scope.isDone()).toBe(true);
  });

  it('a connection error is retryable', async () => {
    const scope = api().put('/contacts/c1').replyWithError(connectionReset());
    expect(await failure(upsert())).toMatchObject({ kind: 'retryable', code: 'connection_error' });
    expect(scope.isDone()).toBe(true);
  });
  it("the caller's abort is retryable and sends nothing", async () => {
    const aborted = new AbortController();
    aborted.abort();
    const err = await failure(
      adapter().upsert!({ payload, ref: { pseudonym, partnerIds: ['c1'] } }, { ...ctx, signal: aborted.signal }),
    );
    expect(err).toMatchObject({ kind: 'retryable', code: 'aborted' });
  });
});

describe('intercom configuration', () => {
  it('keeps two adapters with different tokens apart', async () => {
    const other = { email: 'canary-other-41aa@example.test' };
    const scope = api()
      .put('/contacts/a1', exactly({ ...fields }))
      .reply(200, contact('a1'));
    const scopeB = api(BASE, { authorization: 'Bearer tok-intercom-b', 'intercom-version': '2.14' })
      .put('/contacts/b1', exactly({ external_id: 'psn-b', ...other }))
      .reply(200, contact('b1'));
    const b = createIntercomAdapter({ accessToken: 'tok-intercom-b' });
    await Promise.all([
      adapter().upsert!({ payload, ref: { pseudonym, partnerIds: ['a1'] } }, ctx),
      b.upsert!({ payload: other, ref: { pseudonym: 'psn-b', partnerIds: ['b1'] } }, ctx),
    ]);
    expect(scope.isDone()).toBe(true);
    expect(scopeB.isDone()).toBe(true);
  });

  it('declares the documented rate, with no headroom below it (Intercom counts in 10-second windows)', () => {
    expect(adapter().limits).toEqual({ perSecond: 166, headroom: 0 });
  });

  it('requires https except on loopback', () => {
    expect(() => createIntercomAdapter({ accessToken: TOKEN, baseUrl: 'http://intercom.example.test' })).toThrow(
      /https/,
    );
    expect(() => createIntercomAdapter({ accessToken: TOKEN, baseUrl: 'http://127.0.0.1:9' })).not.toThrow();
  });
});
