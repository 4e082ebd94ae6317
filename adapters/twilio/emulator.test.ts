import { describe, expect, it } from 'vitest';
import type { EmulatorRequest, EmulatorResponse } from '../../src/emulator.ts';
import { errorFormatProblems } from '../../test/spec/error-format.ts';
import {
  TWILIO_SANDBOX_ACCOUNT_SID as SID,
  TWILIO_SANDBOX_AUTH_TOKEN as TOKEN,
  createTwilioEmulator,
} from './emulator.ts';

const AUTH = `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`;
const CALLS = `/2010-04-01/Accounts/${SID}/Calls.json`;

function request(
  method: string,
  path: string,
  form?: Record<string, string>,
  query = '',
  authorization = AUTH,
): EmulatorRequest {
  return {
    method,
    path,
    query: new URLSearchParams(query),
    headers: { authorization },
    body: Buffer.from(form ? new URLSearchParams(form).toString() : ''),
  };
}
type Answer = EmulatorResponse & { body: Record<string, unknown> };
const send = async (e: ReturnType<typeof createTwilioEmulator>, ...args: Parameters<typeof request>) =>
  (await e.handle(request(...args))) as Answer;

describe('twilio emulator', () => {
  it('creates calls from form fields and lists them filtered by To and From', async () => {
    const emulator = createTwilioEmulator();
    const created = await send(emulator, 'POST', CALLS, {
      To: '+46701111111',
      From: '+15005550006',
      Url: 'https://x.example.test',
    });
    expect(created).toMatchObject({ status: 201, body: { to: '+46701111111', status: 'completed', account_sid: SID } });
    await send(emulator, 'POST', CALLS, { To: '+46702222222', From: '+15005550006', Twiml: '<Response/>' });
    const listed = await send(emulator, 'GET', CALLS, undefined, 'To=%2B46701111111');
    expect((listed.body.calls as { to: string }[]).map((c) => c.to)).toEqual(['+46701111111']);
    expect(listed.body).toMatchObject({ next_page_uri: null, page: 0 });
    await send(emulator, 'POST', CALLS, { To: '+46701111111', From: '+15005550007', Twiml: '<Response/>' });
    const fromUs = await send(emulator, 'GET', CALLS, undefined, 'To=%2B46701111111&From=%2B15005550007');
    expect((fromUs.body.calls as { from: string }[]).map((c) => c.from)).toEqual(['+15005550007']);
  });

  it("answers Twilio's error JSON", async () => {
    const emulator = createTwilioEmulator();
    const missing = await send(emulator, 'POST', CALLS, { From: '+15005550006', Url: 'https://x.example.test' });
    expect(missing).toMatchObject({ status: 400, body: { code: 21201, status: 400 } });
    expect(Object.keys(missing.body).sort()).toEqual(['code', 'message', 'more_info', 'status']);
    expect((await send(emulator, 'POST', CALLS, { To: '+46701111111', From: '+15005550006' })).body.code).toBe(21205);
    expect(
      (await send(emulator, 'GET', `/2010-04-01/Accounts/${SID}/Calls/CA${'0'.repeat(32)}.json`)).body,
    ).toMatchObject({ code: 20404, status: 404 });
    const denied = await send(
      emulator,
      'GET',
      CALLS,
      undefined,
      '',
      `Basic ${Buffer.from(`${SID}:nope`).toString('base64')}`,
    );
    expect(denied).toMatchObject({ status: 401, body: { code: 20003 } });
  });

  it('DELETE answers 204, then 404; a call in progress answers 20009', async () => {
    const emulator = createTwilioEmulator({ callDurationMs: 60_000 });
    const { body } = await send(emulator, 'POST', CALLS, {
      To: '+46701111111',
      From: '+15005550006',
      Url: 'https://x.example.test',
    });
    const path = `/2010-04-01/Accounts/${SID}/Calls/${String(body.sid)}.json`;
    expect(await send(emulator, 'DELETE', path)).toMatchObject({ status: 400, body: { code: 20009 } });
    const done = createTwilioEmulator();
    const call = await send(done, 'POST', CALLS, {
      To: '+46701111111',
      From: '+15005550006',
      Url: 'https://x.example.test',
    });
    const donePath = `/2010-04-01/Accounts/${SID}/Calls/${String(call.body.sid)}.json`;
    expect((await send(done, 'DELETE', donePath)).status).toBe(204);
    expect((await send(done, 'DELETE', donePath)).status).toBe(404);
  });

  it('limits count only call creation; 429 is 20429 with Retry-After', () => {
    const emulator = createTwilioEmulator();
    expect(emulator.limits.perSecond).toBe(1);
    expect(emulator.limits.counts?.(request('POST', CALLS))).toBe(true);
    expect(emulator.limits.counts?.(request('GET', CALLS))).toBe(false);
    expect(emulator.limits.counts?.(request('DELETE', `/2010-04-01/Accounts/${SID}/Calls/CA1.json`))).toBe(false);
    expect(emulator.rateLimited(3)).toMatchObject({
      status: 429,
      headers: { 'Retry-After': '3' },
      body: { code: 20429, status: 429 },
    });
  });

  it('refuses a Url that is not an absolute http(s) URL (the spec gives format uri), as 21205', async () => {
    const emulator = createTwilioEmulator();
    const call = { To: '+46701111111', From: '+15005550006' };
    const bads: Record<string, string>[] = [
      { Url: 'alarm.xml' },
      { Url: 'ftp://x.example.test/t' },
      { Twiml: '<Response/>', StatusCallback: 'x' },
    ];
    for (const bad of bads) {
      const res = await send(emulator, 'POST', CALLS, { ...call, ...bad });
      expect(res).toMatchObject({ status: 400, body: { code: 21205 } });
      expect(errorFormatProblems('twilio', res)).toEqual([]);
    }
    expect(emulator.holdings()).toEqual({});
    expect((await send(emulator, 'POST', CALLS, { ...call, Url: 'https://x.example.test/t' })).status).toBe(201);
  });
});
