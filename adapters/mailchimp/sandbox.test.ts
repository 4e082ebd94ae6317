import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CallContext, type PartnerAdapter, type UpsertInput } from '../../src/adapter.ts';
import { serveEmulator, type ServedEmulator } from '../../src/sandbox/serve.ts';
import { createMailchimpEmulator, mailchimpPartner, subscriberHash } from './index.ts';

// The real adapter against the emulator on loopback: proves the base URL and the emulator's
// fidelity together. No nock here, so nothing intercepts 127.0.0.1.
const ctx: CallContext = { correlationId: 'sandbox', idempotencyKey: 'sandbox' };
const EMAIL = 'canary-sbx-7f3a@example.test';
const HASH = subscriberHash(EMAIL);
const input = (over: Partial<UpsertInput> = {}): UpsertInput => ({
  payload: { email: EMAIL, name: { given: 'Ada', family: 'Lovelace' }, phone: '+46701234567' },
  ref: { pseudonym: 'pseudo-1', partnerIds: [HASH] },
  ...over,
});

let served: ServedEmulator;
let adapter: PartnerAdapter;

beforeAll(async () => {
  served = await serveEmulator(createMailchimpEmulator());
  adapter = mailchimpPartner.createAdapter(mailchimpPartner.sandboxOptions(served.url));
});
beforeEach(() => served.emulator.reset());
afterAll(() => served.close());

const holding = () => served.emulator.holdings()[HASH];

describe('mailchimp adapter against the sandbox', () => {
  it('a plain upsert or resync never changes the status after an unsubscribe', async () => {
    await adapter.upsert!(input({ ref: { pseudonym: 'pseudo-1', partnerIds: [] }, subscription: 'subscribed' }), ctx);
    expect(holding()).toEqual({
      personal: { email: EMAIL, 'name.given': 'Ada', 'name.family': 'Lovelace' },
      meta: expect.objectContaining({ status: 'subscribed' }),
    });

    await adapter.suppress!({ pseudonym: 'pseudo-1', partnerIds: [HASH] }, ctx);
    expect(holding()?.meta.status).toBe('unsubscribed');

    await adapter.upsert!(input({ payload: { email: EMAIL, name: { given: 'Augusta', family: 'King' } } }), ctx);
    const [result] = await adapter.upsertBatch!([input()], ctx);
    expect(result).toEqual({ ok: true, partnerId: HASH, created: false });
    expect(holding()).toEqual({
      personal: { email: EMAIL, 'name.given': 'Ada', 'name.family': 'Lovelace' },
      meta: expect.objectContaining({ status: 'unsubscribed' }),
    });
    expect(await adapter.fetch!({ pseudonym: 'pseudo-1', partnerIds: [HASH] }, ctx)).toMatchObject({
      found: true,
      fields: { email: EMAIL, status: 'unsubscribed', 'name.given': 'Ada' },
    });
  });

  it('a cleared name is no longer held after the update', async () => {
    await adapter.upsert!(
      input({ ref: { pseudonym: 'p', partnerIds: [] }, subscription: 'subscribed', cleared: ['phone'] }),
      ctx,
    );
    expect(holding()?.personal).toEqual({ email: EMAIL, 'name.given': 'Ada', 'name.family': 'Lovelace' });

    await adapter.upsert!(input({ payload: { email: EMAIL }, cleared: ['name.given', 'name.family'] }), ctx);
    expect(holding()).toEqual({ personal: { email: EMAIL }, meta: expect.objectContaining({ status: 'subscribed' }) });
    expect((await adapter.fetch!({ pseudonym: 'p', partnerIds: [HASH] }, ctx)).fields).toEqual({
      email: EMAIL,
      status: 'subscribed',
      last_changed: expect.any(String),
    });
  });

  it('an address change re-keys the member', async () => {
    await adapter.upsert!(input({ subscription: 'subscribed', ref: { pseudonym: 'p', partnerIds: [] } }), ctx);
    const moved = 'canary-sbx-moved@example.test';
    const result = await adapter.upsert!(input({ payload: { email: moved } }), ctx);
    expect(result.partnerId).toBe(subscriberHash(moved));
    const holdings = served.emulator.holdings();
    expect(Object.keys(holdings)).toEqual([subscriberHash(moved)]);
    expect(holdings[subscriberHash(moved)]?.personal.email).toBe(moved);
  });

  it('a plain upsert never subscribes: a member Mailchimp does not have comes back unsubscribed', async () => {
    await adapter.upsert!(input({ ref: { pseudonym: 'p', partnerIds: [] } }), ctx);
    expect(holding()).toMatchObject({ meta: { status: 'unsubscribed' } });
    // ...and an existing member's status is left as it is, whatever it was.
    await adapter.upsert!(input({ subscription: 'subscribed' }), ctx);
    await adapter.upsert!(input({ ref: { pseudonym: 'p', partnerIds: [HASH] } }), ctx);
    expect(holding()).toMatchObject({ meta: { status: 'subscribed' } });
  });

  it('archive keeps the data, delete erases it for good', async () => {
    const ref = { pseudonym: 'p', partnerIds: [HASH] };
    await adapter.upsert!(input({ subscription: 'subscribed' }), ctx);
    expect(await adapter.erase(ref, 'archive', ctx)).toEqual({ removed: [HASH] });
    expect(holding()).toMatchObject({ personal: { email: EMAIL }, meta: { status: 'archived' } });

    expect(await adapter.erase(ref, 'delete', ctx)).toEqual({ removed: [HASH] });
    expect(served.emulator.holdings()).toEqual({});
    expect(await adapter.erase(ref, 'delete', ctx)).toEqual({ removed: [HASH] });
    expect(await adapter.fetch!(ref, ctx)).toEqual({ found: false, fields: {} });
    expect(await adapter.suppress!(ref, ctx)).toEqual({ partnerId: HASH });

    const err = await adapter.upsert!(input({ subscription: 'subscribed' }), ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'permanent', status: 400, code: 'forgotten_email_not_subscribed' });
    expect((err as Error).message).not.toContain(EMAIL);
  });

  it('a batch of consent grants creates and updates members', async () => {
    const other = 'canary-sbx-other@example.test';
    await adapter.upsert!(input({ subscription: 'subscribed', ref: { pseudonym: 'p', partnerIds: [] } }), ctx);
    await adapter.suppress!({ pseudonym: 'p', partnerIds: [HASH] }, ctx);
    const results = await adapter.upsertBatch!(
      [
        input({ subscription: 'subscribed' }),
        { payload: { email: other }, ref: { pseudonym: 'q', partnerIds: [] }, subscription: 'subscribed' },
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true, partnerId: HASH, created: false },
      { ok: true, partnerId: subscriberHash(other), created: true },
    ]);
    expect(holding()?.meta.status).toBe('subscribed');
    expect(served.emulator.holdings()[subscriberHash(other)]).toEqual({
      personal: { email: other },
      meta: expect.objectContaining({ status: 'subscribed' }),
    });
  });

  it("the emulator's 429 reaches the adapter as retryable with Retry-After", async () => {
    const emulator = createMailchimpEmulator();
    const throttled = await serveEmulator({ ...emulator, handle: () => emulator.rateLimited(3) });
    try {
      const err = await mailchimpPartner.createAdapter(mailchimpPartner.sandboxOptions(throttled.url)).fetch!(
        { pseudonym: 'p', partnerIds: [HASH] },
        ctx,
      ).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'retryable', status: 429, code: 'too_many_requests', retryAfterMs: 3000 });
    } finally {
      await throttled.close();
    }
  });

  it('a wrong API key is a permanent failure', async () => {
    const wrong = mailchimpPartner.createAdapter({
      ...mailchimpPartner.sandboxOptions(served.url),
      apiKey: 'wrong-us1',
    });
    const err = await wrong.fetch!({ pseudonym: 'p', partnerIds: [HASH] }, ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'permanent', status: 401, code: 'api_key_invalid' });
  });
});
