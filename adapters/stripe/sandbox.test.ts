import nock from 'nock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PartnerError, type CallContext } from '../../src/adapter.ts';
import { serveEmulator, type ServedEmulator } from '../../src/sandbox/serve.ts';
import { stripePartner } from './index.ts';

// The real SDK against the emulator on loopback. Net connect stays off for everything else, so a
// redirect that did not take would fail here instead of reaching api.stripe.com.
const given = 'Canary5c1dGiven';
const family = 'Canary5c1dFamily';
const ctx = (key: string): CallContext => ({ correlationId: 'corr-sandbox', idempotencyKey: key });

let served: ServedEmulator;
beforeAll(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
  served = await serveEmulator(stripePartner.createEmulator());
});
afterAll(async () => {
  await served.close();
  nock.enableNetConnect();
});
beforeEach(() => served.emulator.reset());

const adapter = () => stripePartner.createAdapter(stripePartner.sandboxOptions(served.url));

describe('stripe adapter against the emulator', () => {
  it('creates, updates, fetches and erases a customer', async () => {
    const stripe = adapter();
    const created = await stripe.upsert!(
      { payload: { name: { given, family } }, ref: { pseudonym: 'psd_sbx1', partnerIds: [] } },
      ctx('idem-create'),
    );
    expect(created.created).toBe(true);
    expect(created.partnerId).toMatch(/^cus_[A-Za-z0-9]{14}$/);
    expect(served.emulator.holdings()).toEqual({
      [created.partnerId]: {
        personal: { name: `${given} ${family}` },
        meta: { metadata: { pseudonym: 'psd_sbx1' }, created: expect.any(Number), livemode: false },
      },
    });

    const ref = { pseudonym: 'psd_sbx1', partnerIds: [created.partnerId] };
    await stripe.upsert!({ payload: { name: { given: 'Renamed', family } }, ref }, ctx('idem-update'));
    expect(served.emulator.holdings()[created.partnerId]?.personal).toEqual({ name: `Renamed ${family}` });

    expect(await stripe.fetch!(ref, ctx('idem-fetch'))).toEqual({
      found: true,
      fields: { name: `Renamed ${family}`, 'metadata.pseudonym': 'psd_sbx1' },
    });

    expect(await stripe.erase(ref, 'delete', ctx('idem-erase'))).toEqual({ removed: [created.partnerId] });
    expect(served.emulator.holdings()).toEqual({});
    expect(await stripe.fetch!(ref, ctx('idem-fetch-2'))).toEqual({ found: false, fields: {} });
    // Already gone (Stripe answers 404 now): still success.
    expect(await stripe.erase(ref, 'delete', ctx('idem-erase-2'))).toEqual({ removed: [created.partnerId] });
  });

  it('cleared fields are no longer held after the update', async () => {
    const stripe = adapter();
    const address = { street: 'Canarygatan 1', postalCode: '11122', city: 'Stockholm', country: 'SE' };
    const created = await stripe.upsert!(
      {
        payload: { name: { given, family }, phone: '+46700005c1d', address },
        ref: { pseudonym: 'psd_sbx3', partnerIds: [] },
        cleared: ['email'],
      },
      ctx('idem-create-3'),
    );
    expect(served.emulator.holdings()[created.partnerId]?.personal).toEqual({
      name: `${given} ${family}`,
      phone: '+46700005c1d',
      address: { line1: 'Canarygatan 1', postal_code: '11122', city: 'Stockholm', country: 'SE' },
    });

    const ref = { pseudonym: 'psd_sbx3', partnerIds: [created.partnerId] };
    await stripe.upsert!({ payload: { name: { given, family } }, ref, cleared: ['phone'] }, ctx('idem-clear-phone'));
    expect(served.emulator.holdings()[created.partnerId]?.personal).toEqual({
      name: `${given} ${family}`,
      address: { line1: 'Canarygatan 1', postal_code: '11122', city: 'Stockholm', country: 'SE' },
    });

    const all = [
      'name.given',
      'name.family',
      'address.street',
      'address.postalCode',
      'address.city',
      'address.country',
    ];
    await stripe.upsert!({ payload: {}, ref, cleared: all }, ctx('idem-clear-all'));
    expect(served.emulator.holdings()[created.partnerId]?.personal).toEqual({});
    expect(await stripe.fetch!(ref, ctx('idem-fetch-3'))).toEqual({
      found: true,
      fields: { 'metadata.pseudonym': 'psd_sbx3' },
    });
  });

  it('a retried create with the same idempotency key gets the same customer back', async () => {
    const stripe = adapter();
    const input = { payload: { name: { given, family } }, ref: { pseudonym: 'psd_sbx2', partnerIds: [] } };
    const first = await stripe.upsert!(input, ctx('idem-same'));
    const second = await stripe.upsert!(input, ctx('idem-same'));
    expect(second.partnerId).toBe(first.partnerId);
    expect(Object.keys(served.emulator.holdings())).toEqual([first.partnerId]);
  });

  it('classifies the emulated errors like the real ones', async () => {
    // An update of a customer Stripe does not have (404) is drift: the customer is created again.
    const missing = (await stripe404()) as { partnerId: string; created: boolean };
    expect(missing).toMatchObject({ created: true });
    expect(Object.keys(served.emulator.holdings())).toContain(missing.partnerId);

    const badKey = stripePartner.createAdapter({ apiKey: 'sk_live_wrong', baseUrl: served.url });
    const unauthorized = await badKey
      .erase({ pseudonym: 'p', partnerIds: ['cus_x'] }, 'delete', ctx('k'))
      .catch((e: unknown) => e);
    expect(unauthorized).toMatchObject({ kind: 'permanent', status: 401 });
  });

  it("the emulator's rate-limit answer is what the SDK reports as a rate limit", async () => {
    const emulator = stripePartner.createEmulator();
    const limited = await serveEmulator({ ...emulator, handle: () => emulator.rateLimited(3) });
    try {
      const stripe = stripePartner.createAdapter(stripePartner.sandboxOptions(limited.url));
      const err = await stripe.upsert!(
        { payload: { name: { given, family } }, ref: { pseudonym: 'p', partnerIds: [] } },
        ctx('k'),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PartnerError);
      expect(err).toMatchObject({ kind: 'retryable', status: 429, code: 'rate_limit', retryAfterMs: 3000 });
      expect((err as Error).message).not.toMatch(/Canary/);
    } finally {
      await limited.close();
    }
  });
});

async function stripe404(): Promise<unknown> {
  return adapter().upsert!(
    { payload: { name: { given, family } }, ref: { pseudonym: 'p', partnerIds: ['cus_doesnotexist'] } },
    ctx('idem-404'),
  ).catch((e: unknown) => e);
}
