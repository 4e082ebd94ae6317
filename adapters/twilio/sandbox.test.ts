import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ActionInput, CallContext, PartnerAdapter } from '../../src/adapter.ts';
import { serveEmulator, type ServedEmulator } from '../../src/sandbox/serve.ts';
import { createTwilioEmulator, twilioPartner } from './index.ts';

// The real SDK against the emulator on loopback: proves the httpClient redirect and the emulator's
// fidelity together. No nock here, so nothing intercepts 127.0.0.1.
const ctx: CallContext = { correlationId: 'sandbox', idempotencyKey: 'sandbox' };
const PHONE = '+46701234567';
const alarm = (phone = PHONE): ActionInput => ({
  action: 'alarm',
  payload: { phone, email: 'canary-sbx@example.test' },
  ref: { pseudonym: 'pseudo-1', partnerIds: [] },
  params: { twiml: '<Response><Say>Alarm</Say></Response>' },
});

let served: ServedEmulator;
let adapter: PartnerAdapter;

beforeAll(async () => {
  served = await serveEmulator(createTwilioEmulator());
  adapter = twilioPartner.createAdapter(twilioPartner.sandboxOptions(served.url));
});
beforeEach(() => served.emulator.reset());
afterAll(() => served.close());

async function withServed<T>(
  emulator: ReturnType<typeof createTwilioEmulator>,
  run: (a: PartnerAdapter, s: ServedEmulator) => Promise<T>,
) {
  const s = await serveEmulator(emulator);
  try {
    return await run(twilioPartner.createAdapter(twilioPartner.sandboxOptions(s.url)), s);
  } finally {
    await s.close();
  }
}

describe('twilio adapter against the sandbox', () => {
  it('places a call, reports it, erases it', async () => {
    const { partnerId } = await adapter.act!(alarm(), ctx);
    expect(partnerId).toMatch(/^CA[0-9a-f]{32}$/);
    expect(served.emulator.holdings()).toEqual({
      [partnerId]: { personal: { phone: PHONE }, meta: expect.objectContaining({ status: 'completed' }) },
    });

    const ref = { pseudonym: 'pseudo-1', partnerIds: [partnerId] };
    expect(await adapter.fetch!(ref, ctx)).toEqual({
      found: true,
      fields: {
        phone: PHONE,
        [`call.${partnerId}.status`]: 'completed',
        [`call.${partnerId}.date_created`]: expect.any(String),
        // The emulator's calls complete at once (callDurationMs 0).
        [`call.${partnerId}.duration`]: '0',
      },
    });

    expect(await adapter.erase(ref, 'delete', ctx)).toEqual({ removed: [partnerId] });
    expect(served.emulator.holdings()).toEqual({});
    expect(await adapter.erase(ref, 'delete', ctx)).toEqual({ removed: [partnerId] });
    expect(await adapter.fetch!(ref, ctx)).toEqual({ found: false, fields: {} });
  });

  it('a call still in progress cannot be erased yet: retryable 20009', async () => {
    await withServed(createTwilioEmulator({ callDurationMs: 60_000 }), async (a, s) => {
      const { partnerId } = await a.act!(alarm(), ctx);
      const err = await a.erase({ pseudonym: 'p', partnerIds: [partnerId] }, 'delete', ctx).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'retryable', code: '20009' });
      expect(Object.keys(s.emulator.holdings())).toEqual([partnerId]);
    });
  });

  it("an invalid number is permanent, and Twilio's message (which quotes it) is not copied", async () => {
    const err = await adapter.act!(alarm('+0000'), ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'permanent', status: 400, code: '21211' });
    expect((err as Error).message).not.toContain('+0000');
    expect(served.emulator.holdings()).toEqual({});
  });

  it("the emulator's 429 reaches the adapter as retryable with Retry-After", async () => {
    const emulator = createTwilioEmulator();
    await withServed({ ...emulator, handle: () => emulator.rateLimited(2) } as typeof emulator, async (a) => {
      const err = await a.act!(alarm(), ctx).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'retryable', status: 429, code: '20429', retryAfterMs: 2000 });
    });
  });

  it('wrong credentials are permanent 20003', async () => {
    const wrong = twilioPartner.createAdapter({ ...twilioPartner.sandboxOptions(served.url), authToken: 'wrong' });
    const err = await wrong.act!(alarm(), ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'permanent', status: 401, code: '20003' });
  });

  it('a refused connection places no call and is retryable', async () => {
    const closed = await serveEmulator(createTwilioEmulator());
    await closed.close();
    const err = await twilioPartner.createAdapter(twilioPartner.sandboxOptions(closed.url)).act!(alarm(), ctx).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ kind: 'retryable', code: 'connection_error' });
  });
});
