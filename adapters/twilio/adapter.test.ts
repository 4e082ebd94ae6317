import { isDeepStrictEqual } from 'node:util';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import type { ActionInput, CallContext } from '../../src/adapter.ts';
import { expectPartnerFailure, interceptHttp, netError } from '../common/test-helpers.ts';
import { createTwilioAdapter, type TwilioOptions } from './adapter.ts';

const CANARIES = {
  phone: '+46700073731',
  email: 'canary-7f3a@example.test',
  given: 'Canarygiven-9b1c',
  pseudonym: 'pseudonym-canary-1e2f',
  note: 'canary-param-5d6e',
};
const SID = 'AC1111111111111111111111111111aaaa';
const TOKEN = 'token-aaaa';
const FROM = '+15005550006';
const HOST = 'https://api.twilio.com';
const CALLS = `/2010-04-01/Accounts/${SID}/Calls.json`;
const CALL_A = `CA${'a'.repeat(32)}`;
const CALL_B = `CA${'b'.repeat(32)}`;
const CALL_C = `CA${'c'.repeat(32)}`;
const callPath = (sid: string, account = SID) => `/2010-04-01/Accounts/${account}/Calls/${sid}.json`;
const TWIML = '<Response><Say>Alarm</Say></Response>';
const ctx: CallContext = { correlationId: 'corr-1', idempotencyKey: 'idem-1' };

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const api = (host = HOST, sid = SID, token = TOKEN) => nock(host).matchHeader('authorization', basic(sid, token));
const adapter = (extra: Partial<TwilioOptions> = {}) =>
  createTwilioAdapter({ accountSid: SID, authToken: TOKEN, from: FROM, ...extra });
/** Exact comparison of a form-encoded body, whichever way nock hands it over. */
const exactForm = (expected: Record<string, string>) => (body: unknown) =>
  isDeepStrictEqual(
    typeof body === 'string' ? Object.fromEntries(new URLSearchParams(body)) : { ...(body as object) },
    expected,
  );

const alarm = (params: Record<string, unknown> = { twiml: TWIML, note: CANARIES.note }): ActionInput => ({
  action: 'alarm',
  payload: { phone: CANARIES.phone, email: CANARIES.email, name: { given: CANARIES.given, family: 'X' } },
  ref: { pseudonym: CANARIES.pseudonym, partnerIds: [] },
  params,
});
const twilioError = (status: number, code: number) => ({
  code,
  message: `The 'To' number ${CANARIES.phone} is not valid`,
  more_info: `https://www.twilio.com/docs/errors/${code}`,
  status,
});
const callBody = (sid: string, status = 'completed') => ({
  sid,
  account_sid: SID,
  to: CANARIES.phone,
  from: FROM,
  status,
  date_created: 'Tue, 04 Mar 2025 10:00:00 +0000',
});
/** The lookup after a lost answer: calls to the subject's number from ours, newest first. */
const lookup = (query: Record<string, string>) =>
  query.To === CANARIES.phone && query.From === FROM && Object.keys(query).sort().join() === 'From,PageSize,To';
const recentCall = (sid: string) => ({ ...callBody(sid, 'queued'), date_created: new Date().toUTCString() });
const callPage = (calls: unknown[]) => ({
  calls,
  page: 0,
  page_size: 20,
  start: 0,
  end: Math.max(0, calls.length - 1),
  next_page_uri: null,
  uri: CALLS,
});
const networkError = (code: string) => netError(code, `${code} while calling ${CANARIES.phone}`);

const failure = (pending: Promise<unknown>) =>
  expectPartnerFailure(pending, Object.values(CANARIES), { where: 'message' });

interceptHttp();

describe('twilio adapter: act (alarm call)', () => {
  it('places the call with To, From and Twiml only', async () => {
    const scope = api()
      .post(CALLS, exactForm({ To: CANARIES.phone, From: FROM, Twiml: TWIML }))
      .reply(201, callBody(CALL_A, 'queued'));
    expect(await adapter().act!(alarm(), ctx)).toEqual({ partnerId: CALL_A });
    expect(scope.isDone()).toBe(true);
  });

  it('places the call with a Url instead of TwiML', async () => {
    const url = 'https://alarm.example.test/twiml';
    const scope = api()
      .post(CALLS, exactForm({ To: CANARIES.phone, From: FROM, Url: url }))
      .reply(201, callBody(CALL_A, 'queued'));
    expect(await adapter().act!(alarm({ url }), ctx)).toEqual({ partnerId: CALL_A });
    expect(scope.isDone()).toBe(true);
  });

  it.each([
    ['an unknown action', { ...alarm(), action: 'sms' }, 'unsupported_action'],
    ['no phone', { ...alarm(), payload: { email: CANARIES.email } }, 'missing_phone'],
    ['both twiml and url', alarm({ twiml: TWIML, url: 'https://x.example.test' }), 'invalid_params'],
    ['neither twiml nor url', alarm({}), 'invalid_params'],
  ])('refuses %s without calling Twilio', async (_, input, code) => {
    expect(await failure(adapter().act!(input, ctx))).toMatchObject({ kind: 'permanent', code });
  });

  it('429 / 20429 is retryable with Retry-After, and the SDK does not retry it', async () => {
    const scope = api().post(CALLS).once().reply(429, twilioError(429, 20429), { 'Retry-After': '4' });
    const err = await failure(adapter().act!(alarm(), ctx));
    expect(err).toMatchObject({ kind: 'retryable', status: 429, code: '20429', retryAfterMs: 4000 });
    expect(scope.isDone()).toBe(true);
  });

  it('503 is retryable: Twilio placed nothing', async () => {
    const scope = api().post(CALLS).reply(503, twilioError(503, 20503));
    expect(await failure(adapter().act!(alarm(), ctx))).toMatchObject({ kind: 'retryable', status: 503 });
    expect(scope.isDone()).toBe(true);
  });

  it('500 is outcome_unknown when no new call to the number shows up', async () => {
    const scope = api()
      .post(CALLS)
      .reply(500, twilioError(500, 20500))
      .get(CALLS)
      .query(lookup)
      .reply(200, callPage([]));
    expect(await failure(adapter().act!(alarm(), ctx))).toMatchObject({
      kind: 'unknown',
      status: 500,
      code: 'outcome_unknown',
    });
    expect(scope.isDone()).toBe(true);
  });

  it('a timeout after sending is outcome_unknown, never retryable, when the lookup finds nothing new', async () => {
    // The only call to the number is one the gateway already knows (or one from an hour ago).
    const old = { ...callBody(CALL_C), date_created: new Date(Date.now() - 3_600_000).toUTCString() };
    const scope = api()
      .post(CALLS)
      .delay(300)
      .reply(201, callBody(CALL_A))
      .get(CALLS)
      .query(lookup)
      .reply(200, callPage([recentCall(CALL_B), old]));
    const err = await failure(
      adapter({ timeoutMs: 50 }).act!(
        { ...alarm(), ref: { pseudonym: CANARIES.pseudonym, partnerIds: [CALL_B] } },
        ctx,
      ),
    );
    expect(err).toMatchObject({ kind: 'unknown', code: 'outcome_unknown' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(scope.isDone()).toBe(true);
  });

  it('a lost answer whose call Twilio holds is a success with that call: it is not rung again, and erasure can reach it', async () => {
    const scope = api()
      .post(CALLS)
      .replyWithError(networkError('ECONNRESET'))
      .get(CALLS)
      .query(lookup)
      .reply(200, callPage([recentCall(CALL_A)]));
    expect(await adapter().act!(alarm(), ctx)).toEqual({ partnerId: CALL_A });
    expect(scope.isDone()).toBe(true);
  });

  it('two new calls to the number cannot be told apart: outcome_unknown', async () => {
    const scope = api()
      .post(CALLS)
      .reply(502, twilioError(502, 20500))
      .get(CALLS)
      .query(lookup)
      .reply(200, callPage([recentCall(CALL_A), recentCall(CALL_B)]));
    expect(await failure(adapter().act!(alarm(), ctx))).toMatchObject({ kind: 'unknown', code: 'outcome_unknown' });
    expect(scope.isDone()).toBe(true);
  });

  it('a reset connection is outcome_unknown even if the lookup fails too; a refused one is retryable with no lookup', async () => {
    const scope = api()
      .post(CALLS)
      .replyWithError(networkError('ECONNRESET'))
      .get(CALLS)
      .query(lookup)
      .reply(500, twilioError(500, 20500))
      .post(CALLS)
      .replyWithError(networkError('ECONNREFUSED'));
    expect(await failure(adapter().act!(alarm(), ctx))).toMatchObject({ kind: 'unknown', code: 'outcome_unknown' });
    expect(await failure(adapter().act!(alarm(), ctx))).toMatchObject({
      kind: 'retryable',
      code: 'connection_error',
      message: expect.stringContaining('network ECONNREFUSED'),
    });
    expect(scope.isDone()).toBe(true);
  });

  it.each([
    [400, 21211],
    [401, 20003],
  ])('%i with code %i is permanent and keeps only the code', async (status, code) => {
    const scope = api().post(CALLS).reply(status, twilioError(status, code));
    expect(await failure(adapter().act!(alarm(), ctx))).toMatchObject({
      kind: 'permanent',
      status,
      code: String(code),
    });
    expect(scope.isDone()).toBe(true);
  });
});

describe('twilio adapter: erase and fetch', () => {
  const ref = { pseudonym: CANARIES.pseudonym, partnerIds: [CALL_A, 'not-a-call-sid', CALL_B] };

  it('deletes every call record; 404 counts as gone', async () => {
    const scope = api()
      .delete(callPath(CALL_A))
      .reply(204)
      .delete(callPath(CALL_B))
      .reply(404, twilioError(404, 20404));
    expect(await adapter().erase(ref, 'delete', ctx)).toEqual({ removed: [CALL_A, CALL_B] });
    expect(scope.isDone()).toBe(true);
  });

  it('archive mode deletes too: Twilio has no archive', async () => {
    const scope = api().delete(callPath(CALL_A)).reply(204);
    expect(await adapter().erase({ pseudonym: 'p', partnerIds: [CALL_A] }, 'archive', ctx)).toEqual({
      removed: [CALL_A],
    });
    expect(scope.isDone()).toBe(true);
  });

  it('20009 (call not complete yet) is retryable', async () => {
    const scope = api().delete(callPath(CALL_A)).reply(400, twilioError(400, 20009));
    expect(await failure(adapter().erase(ref, 'delete', ctx))).toMatchObject({
      kind: 'retryable',
      code: '20009',
      status: 400,
    });
    expect(scope.isDone()).toBe(true);
  });

  it('erase: 500, a timeout and a reset are retryable (deleting twice is harmless)', async () => {
    const scope = api()
      .delete(callPath(CALL_A))
      .reply(500, twilioError(500, 20500))
      .delete(callPath(CALL_A))
      .replyWithError(networkError('ECONNRESET'));
    expect(await failure(adapter().erase(ref, 'delete', ctx))).toMatchObject({ kind: 'retryable', status: 500 });
    expect(await failure(adapter().erase(ref, 'delete', ctx))).toMatchObject({
      kind: 'retryable',
      code: 'connection_error',
    });
    expect(scope.isDone()).toBe(true);
  });

  it('fetch returns the number and the calls Twilio holds', async () => {
    const scope = api()
      .get(callPath(CALL_A))
      .reply(200, { ...callBody(CALL_A), duration: '42', answered_by: 'human' })
      .get(callPath(CALL_B))
      .reply(404, twilioError(404, 20404));
    expect(await adapter().fetch!(ref, ctx)).toEqual({
      found: true,
      fields: {
        phone: CANARIES.phone,
        [`call.${CALL_A}.status`]: 'completed',
        [`call.${CALL_A}.date_created`]: '2025-03-04T10:00:00.000Z',
        [`call.${CALL_A}.duration`]: '42',
        [`call.${CALL_A}.answered_by`]: 'human',
      },
    });
    expect(scope.isDone()).toBe(true);
  });

  it.each([301, 302, 307, 308])('a %i to fetch is refused, never read as the call, never followed', async (status) => {
    // Strict nock: a followed redirect would reach evil.example, which no mock answers.
    const scope = api()
      .get(callPath(CALL_A))
      .reply(status, callBody(CALL_A), { Location: `https://evil.example${callPath(CALL_A)}` });
    const err = await failure(adapter().fetch!({ pseudonym: 'p', partnerIds: [CALL_A] }, ctx));
    expect(err).toMatchObject({ kind: 'retryable', status, code: 'redirect_refused' });
    expect(scope.isDone()).toBe(true);
  });

  it('fetch of calls that are gone is found: false', async () => {
    const scope = api().get(callPath(CALL_A)).reply(404, twilioError(404, 20404));
    expect(await adapter().fetch!({ pseudonym: 'p', partnerIds: [CALL_A] }, ctx)).toEqual({ found: false, fields: {} });
    expect(scope.isDone()).toBe(true);
  });
});

describe('twilio adapter: instances and base URL', () => {
  it('two adapters with different accounts in one process never cross', async () => {
    const other = { sid: 'AC2222222222222222222222222222bbbb', token: 'token-bbbb' };
    const a = api()
      .get(callPath(CALL_A))
      .delay(30)
      .reply(200, { ...callBody(CALL_A), to: '+46700000001' });
    const b = api(HOST, other.sid, other.token)
      .get(callPath(CALL_A, other.sid))
      .reply(200, { ...callBody(CALL_A), to: '+46700000002' });
    const ref = { pseudonym: 'p', partnerIds: [CALL_A] };
    const held = await Promise.all([
      adapter().fetch!(ref, ctx),
      createTwilioAdapter({ accountSid: other.sid, authToken: other.token, from: FROM }).fetch!(ref, ctx),
    ]);
    expect(held.map((h) => h.fields.phone)).toEqual(['+46700000001', '+46700000002']);
    expect([a.isDone(), b.isDone()]).toEqual([true, true]);
  });

  it('follows baseUrl, including a path prefix', async () => {
    const scope = api('https://twilio-proxy.example.test')
      .delete(`/prefix${callPath(CALL_A)}`)
      .reply(204);
    await adapter({ baseUrl: 'https://twilio-proxy.example.test/prefix/' }).erase(
      { pseudonym: 'p', partnerIds: [CALL_A] },
      'delete',
      ctx,
    );
    expect(scope.isDone()).toBe(true);
  });

  it('refuses plain http except on loopback', () => {
    expect(() => adapter({ baseUrl: 'http://twilio.example.test' })).toThrow(/https/);
    expect(() => adapter({ baseUrl: 'http://127.0.0.1:9' })).not.toThrow();
  });
});
