import nock from 'nock';
import { describe, expect, it } from 'vitest';
import type { CallContext } from '../../src/adapter.ts';
import { expectPartnerFailure, interceptHttp, netError } from '../common/test-helpers.ts';
import { createResinAdapter, DEVICE_PERSONAL_FIELDS } from './adapter.ts';

const BASE = 'https://api.balena-cloud.com';
const KEY = 'key-balena-a';
const ctx: CallContext = { correlationId: 'corr-1', idempotencyKey: 'idem-1' };
const pseudonym = 'psn-canary-77e1';
// Device values are personal data too: none may reach an error.
const CANARIES = [pseudonym, '10.77.0.91', '203.0.113.77', 'canary-cam-3f1d'];

const api = (key = KEY) => nock(BASE, { reqheaders: { authorization: `Bearer ${key}` } });
const adapter = (timeoutMs?: number) => createResinAdapter({ apiKey: KEY, timeoutMs });
const select = `id,${DEVICE_PERSONAL_FIELDS.join(',')}`;
// nock is told the exact query; any other query parameter fails the match.
const filterQuery = (ids: string) => ({ $filter: `id in (${ids})` });
const device = (id: number) => ({
  id,
  ip_address: '10.77.0.91',
  public_address: '203.0.113.77',
  mac_address: null,
  latitude: '59.33',
  longitude: '18.06',
  device_name: 'canary-cam-3f1d',
  note: null,
});

const connectionReset = () => netError('ECONNRESET', 'reset 10.77.0.91');

const failure = (pending: Promise<unknown>) => expectPartnerFailure(pending, CANARIES, { where: 'everywhere' });

interceptHttp();

describe('resin erase and fetch', () => {
  it('pushes nothing: the adapter has no upsert', () => {
    expect(adapter().upsert).toBeUndefined();
    expect(adapter().limits).toEqual({ perSecond: 10 });
  });

  it('deletes all the subject devices in one filtered call', async () => {
    const scope = api().delete('/v7/device').query(filterQuery('1001,1002')).reply(200, 'OK');
    await expect(adapter().erase({ pseudonym, partnerIds: ['1001', '1002'] }, 'delete', ctx)).resolves.toEqual({
      removed: ['1001', '1002'],
    });
    expect(scope.isDone()).toBe(true);
  });

  it('treats 404 as already gone, and makes no call without devices', async () => {
    const scope = api().delete('/v7/device').query(filterQuery('1001')).reply(404, 'Not Found');
    await expect(adapter().erase({ pseudonym, partnerIds: ['1001'] }, 'delete', ctx)).resolves.toEqual({
      removed: ['1001'],
    });
    await expect(adapter().erase({ pseudonym, partnerIds: [] }, 'delete', ctx)).resolves.toEqual({ removed: [] });
    expect(scope.isDone()).toBe(true);
  });

  it('refuses ids that would change the filter, and archive (balena has none)', async () => {
    expect(await failure(adapter().erase({ pseudonym, partnerIds: ['1) or (id gt 0'] }, 'delete', ctx))).toMatchObject({
      kind: 'permanent',
      code: 'invalid_partner_id',
    });
    expect(await failure(adapter().erase({ pseudonym, partnerIds: ['1001'] }, 'archive', ctx))).toMatchObject({
      kind: 'permanent',
      code: 'unsupported_erase_mode',
    });
  });

  it('fetches the personal fields of every device, keyed by device id', async () => {
    const scope = api()
      .get('/v7/device')
      .query({ ...filterQuery('1001,1002'), $select: select })
      .reply(200, {
        d: [device(1001), { ...device(1002), ip_address: '10.77.0.92', latitude: null, longitude: null }],
      });
    await expect(adapter().fetch!({ pseudonym, partnerIds: ['1001', '1002'] }, ctx)).resolves.toEqual({
      found: true,
      fields: {
        'ip_address.1001': '10.77.0.91',
        'public_address.1001': '203.0.113.77',
        'device_name.1001': 'canary-cam-3f1d',
        'latitude.1001': '59.33',
        'longitude.1001': '18.06',
        'ip_address.1002': '10.77.0.92',
        'public_address.1002': '203.0.113.77',
        'device_name.1002': 'canary-cam-3f1d',
      },
    });
    expect(scope.isDone()).toBe(true);
  });

  it('reports found:false when the devices are gone', async () => {
    const scope = api()
      .get('/v7/device')
      .query({ ...filterQuery('1001'), $select: select })
      .reply(200, { d: [] });
    await expect(adapter().fetch!({ pseudonym, partnerIds: ['1001'] }, ctx)).resolves.toEqual({
      found: false,
      fields: {},
    });
    expect(scope.isDone()).toBe(true);
  });
});

describe('resin failures', () => {
  const erase = (a = adapter()) => a.erase({ pseudonym, partnerIds: ['1001'] }, 'delete', ctx);
  const del = () => api().delete('/v7/device').query(filterQuery('1001'));

  it('429 with Retry-After is retryable after it', async () => {
    const scope = del().reply(429, 'Too Many Requests', { 'Retry-After': '12' });
    expect(await failure(erase())).toMatchObject({
      kind: 'retryable',
      status: 429,
      code: 'too_many_requests',
      retryAfterMs: 12_000,
    });
    expect(scope.isDone()).toBe(true);
  });

  it('500 is retryable', async () => {
    const scope = del().reply(500, 'Internal Server Error');
    expect(await failure(erase())).toMatchObject({ kind: 'retryable', status: 500 });
    expect(scope.isDone()).toBe(true);
  });

  it('400 and 401 are permanent with balena reason as code; other text is never taken', async () => {
    const scopes = [del().reply(401, 'Unauthorized'), del().reply(400, 'Bad device 10.77.0.91 canary-cam-3f1d')];
    expect(await failure(erase())).toMatchObject({ kind: 'permanent', status: 401, code: 'unauthorized' });
    expect(await failure(erase())).toMatchObject({ kind: 'permanent', status: 400, code: undefined });
    for (const s of scopes) expect(s.isDone()).toBe(true);
  });

  it('a timeout and a connection error are retryable', async () => {
    const scope = del().delay(500).reply(200, 'OK');
    expect(await failure(erase(adapter(50)))).toMatchObject({ kind: 'retryable', code: 'timeout' });
    const scope2 = del().replyWithError(connectionReset());
    expect(await failure(erase())).toMatchObject({ kind: 'retryable', code: 'connection_error' });
    expect(scope.isDone() && scope2.isDone()).toBe(true);
  });
});

describe('resin configuration', () => {
  it('keeps two adapters with different keys apart', async () => {
    const a = api().delete('/v7/device').query(filterQuery('1')).reply(200, 'OK');
    const b = api('key-balena-b').delete('/v7/device').query(filterQuery('2')).reply(200, 'OK');
    const other = createResinAdapter({ apiKey: 'key-balena-b' });
    await Promise.all([
      adapter().erase({ pseudonym, partnerIds: ['1'] }, 'delete', ctx),
      other.erase({ pseudonym: 'psn-b', partnerIds: ['2'] }, 'delete', ctx),
    ]);
    expect(a.isDone() && b.isDone()).toBe(true);
  });

  it('follows baseUrl, https only except loopback', async () => {
    const scope = nock('https://balena.internal.example.test')
      .delete('/v7/device')
      .query(filterQuery('1'))
      .reply(200, 'OK');
    await createResinAdapter({ apiKey: KEY, baseUrl: 'https://balena.internal.example.test' }).erase(
      { pseudonym, partnerIds: ['1'] },
      'delete',
      ctx,
    );
    expect(scope.isDone()).toBe(true);
    expect(() => createResinAdapter({ apiKey: KEY, baseUrl: 'http://balena.internal.example.test' })).toThrow(/https/);
  });
});
