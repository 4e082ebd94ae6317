import nock from 'nock';
import { describe, expect, it } from 'vitest';
import type { CallContext, PartnerPayload } from '../../src/adapter.ts';
import { exactly, expectPartnerFailure, interceptHttp, netError } from '../common/test-helpers.ts';
import { createElogistikAdapter } from './adapter.ts';

const BASE = 'https://api.elogistik.example.test';
const TOKEN = 'tok-elogistik-a';
const ctx: CallContext = { correlationId: 'corr-1', idempotencyKey: 'idem-1' };
const pseudonym = 'psn-canary-c0de';

// Unique strings: if one ever shows up in an error, personal data leaked into it.
const CANARIES = ['Canary4e1b', 'Kanarie77d0', 'Canarygatan 5', 'canary-e1b4@example.test', '+46701238841', pseudonym];
const payload: PartnerPayload = {
  name: { given: 'Canary4e1b', family: 'Kanarie77d0' },
  address: { street: 'Canarygatan 5', postalCode: '11122', city: 'Stockholm', country: 'SE' },
  phone: '+46701238841',
  email: 'canary-e1b4@example.test',
};
const body = {
  name: 'Canary4e1b Kanarie77d0',
  address: { street: 'Canarygatan 5', postalCode: '11122', city: 'Stockholm', country: 'SE' },
  phone: '+46701238841',
  email: 'canary-e1b4@example.test',
};
const path = `/v1/customers/${pseudonym}`;

const api = (token = TOKEN) => nock(BASE, { reqheaders: { authorization: `Bearer ${token}` } });
const adapter = (timeoutMs?: number) => createElogistikAdapter({ token: TOKEN, baseUrl: BASE, timeoutMs });
const ref = { pseudonym, partnerIds: [] };
const echo = (code: string) => ({ code, message: 'bad email canary-e1b4@example.test at Canarygatan 5' });

const connectionReset = () => netError('ECONNRESET', 'reset Canary4e1b');

const failure = (pending: Promise<unknown>) => expectPartnerFailure(pending, CANARIES, { where: 'everywhere' });

interceptHttp();

describe('elogistik upsert, erase, fetch', () => {
  it('creates with exactly the mapped payload; 201 means created', async () => {
    const scope = api()
      .put(path, exactly(body))
      .reply(201, { ref: pseudonym, ...body });
    await expect(adapter().upsert!({ payload, ref }, ctx)).resolves.toEqual({ partnerId: pseudonym, created: true });
    expect(scope.isDone()).toBe(true);
  });

  it('updates (200) and sends only the fields present', async () => {
    const partial = { name: payload.name!, address: payload.address! };
    const scope = api()
      .put(path, exactly({ name: body.name, address: body.address }))
      .reply(200, { ref: pseudonym });
    await expect(adapter().upsert!({ payload: partial, ref }, ctx)).resolves.toEqual({
      partnerId: pseudonym,
      created: false,
    });
    expect(scope.isDone()).toBe(true);
  });

  it('never forwards address fields beyond the four in the contract', async () => {
    const sloppy = { address: { ...payload.address!, careOf: 'Canary4e1b' } as PartnerPayload['address'] };
    const scope = api()
      .put(path, exactly({ address: body.address }))
      .reply(200, { ref: pseudonym });
    await adapter().upsert!({ payload: sloppy!, ref }, ctx);
    expect(scope.isDone()).toBe(true);
  });

  it('erases with DELETE; 204 and 404 are both success', async () => {
    const scope = api()
      .delete(path)
      .reply(204)
      .delete(path)
      .reply(404, { code: 'not_found', message: 'customer not found' });
    await expect(adapter().erase(ref, 'delete', ctx)).resolves.toEqual({ removed: [pseudonym] });
    await expect(adapter().erase(ref, 'delete', ctx)).resolves.toEqual({ removed: [pseudonym] });
    expect(scope.isDone()).toBe(true);
  });

  it('refuses archive: the contract has only delete', async () => {
    expect(await failure(adapter().erase(ref, 'archive', ctx))).toMatchObject({
      kind: 'permanent',
      code: 'unsupported_erase_mode',
    });
  });

  it('fetches what is held under our field names, and found:false on 404', async () => {
    const scope = api()
      .get(path)
      .reply(200, { ref: pseudonym, ...body, createdAt: '2026-01-01T00:00:00Z' })
      .get(path)
      .reply(404, { code: 'not_found', message: 'customer not found' });
    await expect(adapter().fetch!(ref, ctx)).resolves.toEqual({
      found: true,
      fields: {
        name: body.name,
        phone: body.phone,
        email: body.email,
        'address.street': 'Canarygatan 5',
        'address.postalCode': '11122',
        'address.city': 'Stockholm',
        'address.country': 'SE',
      },
    });
    await expect(adapter().fetch!(ref, ctx)).resolves.toEqual({ found: false, fields: {} });
    expect(scope.isDone()).toBe(true);
  });
});

describe('elogistik failures', () => {
  const upsert = (a = adapter()) => a.upsert!({ payload, ref }, ctx);

  it('429 with Retry-After is retryable after it', async () => {
    const scope = api().put(path).reply(429, echo('rate_limited'), { 'Retry-After': '2' });
    expect(await failure(upsert())).toMatchObject({
      kind: 'retryable',
      status: 429,
      code: 'rate_limited',
      retryAfterMs: 2000,
    });
    expect(scope.isDone()).toBe(true);
  });

  it('500 is retryable', async () => {
    const scope = api().put(path).reply(500, echo('internal'));
    expect(await failure(upsert())).toMatchObject({ kind: 'retryable', status: 500, code: 'internal' });
    expect(scope.isDone()).toBe(true);
  });

  it('400 and 401 are permanent with the partner code, and a code that looks like data is dropped', async () => {
    const scope = api()
      .put(path)
      .reply(400, echo('invalid_body'))
      .put(path)
      .reply(401, echo('unauthorized'))
      .put(path)
      .reply(400, echo('canary-e1b4@example.test'));
    expect(await failure(upsert())).toMatchObject({ kind: 'permanent', status: 400, code: 'invalid_body' });
    expect(await failure(upsert())).toMatchObject({ kind: 'permanent', status: 401, code: 'unauthorized' });
    expect(await failure(upsert())).toMatchObject({ kind: 'permanent', status: 400, code: undefined });
    expect(scope.isDone()).toBe(true);
  });

  it('a timeout and a connection error are retryable', async () => {
    const scope = api().put(path).delay(500).reply(200, {}).put(path).replyWithError(connectionReset());
    expect(await failure(upsert(adapter(50)))).toMatchObject({
      kind: 'retryable',
      status: undefined,
      code: 'timeout',
    });
    expect(await failure(upsert())).toMatchObject({
      kind: 'retryable',
      code: 'connection_error',
      message: expect.stringContaining('network ECONNRESET'),
    });
    expect(scope.isDone()).toBe(true);
  });
});

describe('elogistik configuration', () => {
  it('keeps two adapters with different tokens apart', async () => {
    const a = api().put(path, exactly(body)).reply(200, { ref: pseudonym });
    const b = api('tok-elogistik-b')
      .put('/v1/customers/psn-b', exactly({ email: 'b@example.test' }))
      .reply(201, { ref: 'psn-b' });
    const other = createElogistikAdapter({ token: 'tok-elogistik-b', baseUrl: BASE });
    await Promise.all([
      adapter().upsert!({ payload, ref }, ctx),
      other.upsert!({ payload: { email: 'b@example.test' }, ref: { pseudonym: 'psn-b', partnerIds: [] } }, ctx),
    ]);
    expect(a.isDone() && b.isDone()).toBe(true);
  });

  it('encodes the pseudonym as one path segment', async () => {
    const scope = api().delete('/v1/customers/a%2Fb%3Fc').reply(204);
    await adapter().erase({ pseudonym: 'a/b?c', partnerIds: [] }, 'delete', ctx);
    expect(scope.isDone()).toBe(true);
  });

  it('declares the contract rate', () => {
    expect(adapter().limits).toEqual({ perSecond: 50 });
  });

  it('requires a base URL, https except loopback', () => {
    expect(() => createElogistikAdapter({ token: TOKEN, baseUrl: 'http://elogistik.example.test' })).toThrow(/https/);
    expect(() => createElogistikAdapter({ token: TOKEN, baseUrl: '' })).toThrow(/baseUrl/);
  });
});
