import nock from 'nock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PartnerError, type CallContext } from '../../src/adapter.ts';
import { serveEmulator, type ServedEmulator } from '../../src/sandbox/serve.ts';
import { auth0Partner } from './index.ts';

// The real SDK against the emulator on loopback. Net connect stays off for everything else, so a
// redirect that missed the token call or the API would fail here instead of leaving the machine.
const given = 'Canary9b2eGiven';
const family = 'Canary9b2eFamily';
const email = 'canary9b2e@example.test';
const ctx: CallContext = { correlationId: 'corr-sandbox', idempotencyKey: 'idem-sandbox' };

let served: ServedEmulator;
beforeAll(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
  served = await serveEmulator(auth0Partner.createEmulator());
});
afterAll(async () => {
  await served.close();
  nock.enableNetConnect();
});
beforeEach(() => served.emulator.reset());

const adapter = (over: { createUsers?: boolean } = {}) =>
  auth0Partner.createAdapter({ ...auth0Partner.sandboxOptions(served.url), ...over });

describe('auth0 adapter against the emulator', () => {
  it('creates, updates, fetches and erases a user', async () => {
    const auth0 = adapter();
    const created = await auth0.upsert!(
      { payload: { name: { given, family }, email }, ref: { pseudonym: 'psd_sbx', partnerIds: [] } },
      ctx,
    );
    expect(created).toEqual({ partnerId: expect.stringMatching(/^auth0\|[0-9a-f]{24}$/), created: true });
    expect(served.emulator.holdings()).toEqual({
      [created.partnerId]: {
        personal: { name: `${given} ${family}`, 'name.given': given, 'name.family': family, email },
        meta: expect.objectContaining({ connection: 'Username-Password-Authentication' }),
      },
    });

    const ref = { pseudonym: 'psd_sbx', partnerIds: [created.partnerId] };
    await auth0.upsert!({ payload: { name: { given: 'Renamed', family }, email }, ref }, ctx);
    expect(served.emulator.holdings()[created.partnerId]?.personal).toMatchObject({ name: `Renamed ${family}` });

    expect(await auth0.fetch!(ref, ctx)).toEqual({
      found: true,
      fields: { name: `Renamed ${family}`, 'name.given': 'Renamed', 'name.family': family, email },
    });

    expect(await auth0.erase(ref, 'delete', ctx)).toEqual({ removed: [created.partnerId] });
    expect(served.emulator.holdings()).toEqual({});
    expect(await auth0.fetch!(ref, ctx)).toEqual({ found: false, fields: {} });
    expect(await auth0.erase(ref, 'delete', ctx)).toEqual({ removed: [created.partnerId] });
  });

  it('a cleared name is no longer held after the update; the email stays', async () => {
    const auth0 = adapter();
    const created = await auth0.upsert!(
      {
        payload: { name: { given, family }, email },
        ref: { pseudonym: 'psd_clr', partnerIds: [] },
        cleared: ['phone'],
      },
      ctx,
    );
    const ref = { pseudonym: 'psd_clr', partnerIds: [created.partnerId] };
    await auth0.upsert!({ payload: { email }, ref, cleared: ['name.given', 'name.family'] }, ctx);
    expect(served.emulator.holdings()[created.partnerId]?.personal).toEqual({ email });
    expect(await auth0.fetch!(ref, ctx)).toEqual({ found: true, fields: { email } });
  });

  it('a create that meets an existing user (409) updates that user instead', async () => {
    const first = await adapter().upsert!(
      { payload: { name: { given, family }, email }, ref: { pseudonym: 'p', partnerIds: [] } },
      ctx,
    );
    const retried = await adapter().upsert!(
      {
        payload: { name: { given: 'Second', family }, email: email.toUpperCase() },
        ref: { pseudonym: 'p', partnerIds: [] },
      },
      ctx,
    );
    expect(retried).toEqual({ partnerId: first.partnerId, created: false });
    expect(Object.keys(served.emulator.holdings())).toEqual([first.partnerId]);
    expect(served.emulator.holdings()[first.partnerId]?.personal).toMatchObject({ 'name.given': 'Second' });
  });

  it('classifies the emulated errors like the real ones', async () => {
    // Without createUsers a user id Auth0 does not know stays a permanent 404 ...
    const unknownRef = { pseudonym: 'p', partnerIds: ['auth0|000000000000000000000000'] };
    const unknown = await adapter({ createUsers: false }).upsert!({ payload: { email }, ref: unknownRef }, ctx).catch(
      (e: unknown) => e,
    );
    expect(unknown).toMatchObject({ kind: 'permanent', status: 404, code: 'inexistent_user' });
    // ... with it, the user lost at Auth0 is created again (drift repaired).
    const repaired = await adapter().upsert!({ payload: { email }, ref: unknownRef }, ctx);
    expect(repaired).toMatchObject({ created: true });
    expect(Object.keys(served.emulator.holdings())).toContain(repaired.partnerId);

    const noId = await adapter({ createUsers: false }).upsert!(
      { payload: { email }, ref: { pseudonym: 'p', partnerIds: [] } },
      ctx,
    ).catch((e: unknown) => e);
    expect(noId).toMatchObject({ kind: 'permanent', code: 'no_user_id' });
    // The refused calls created nothing: the one user is the repaired one.
    expect(Object.keys(served.emulator.holdings())).toEqual([repaired.partnerId]);
  });

  it("the emulator's rate-limit answer is what the adapter reports as a rate limit", async () => {
    const emulator = auth0Partner.createEmulator();
    const limited = await serveEmulator({
      ...emulator,
      handle: (req) => (req.path.startsWith('/api/v2/') ? emulator.rateLimited(2) : emulator.handle(req)),
    });
    try {
      const auth0 = auth0Partner.createAdapter(auth0Partner.sandboxOptions(limited.url));
      const err = await auth0.fetch!({ pseudonym: 'p', partnerIds: ['auth0|x'] }, ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PartnerError);
      expect(err).toMatchObject({ kind: 'retryable', status: 429, code: 'too_many_requests', retryAfterMs: 2000 });
    } finally {
      await limited.close();
    }
  });

  it('a timeout and an abort are retryable', async () => {
    const emulator = auth0Partner.createEmulator();
    const slow = await serveEmulator({
      ...emulator,
      handle: async (req) => {
        if (req.path.startsWith('/api/v2/')) await new Promise((resolve) => setTimeout(resolve, 400));
        return emulator.handle(req);
      },
    });
    try {
      const ref = { pseudonym: 'p', partnerIds: ['auth0|x'] };
      const options = auth0Partner.sandboxOptions(slow.url);
      const timedOut = await auth0Partner.createAdapter({ ...options, timeoutMs: 50 }).fetch!(ref, ctx).catch(
        (e: unknown) => e,
      );
      expect(timedOut).toMatchObject({ kind: 'retryable', code: 'timeout' });

      const signal = AbortSignal.timeout(50);
      const aborted = await auth0Partner.createAdapter(options).fetch!(ref, { ...ctx, signal }).catch(
        (e: unknown) => e,
      );
      // The request had left: the partner may have acted on it.
      expect(aborted).toMatchObject({ kind: 'retryable', code: 'aborted_in_flight' });
    } finally {
      await slow.close();
    }
  });
});
