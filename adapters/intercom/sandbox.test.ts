import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CallContext } from '../../src/adapter.ts';
import type { PartnerEmulator } from '../../src/emulator.ts';
import { serveEmulator, type ServedEmulator } from '../../src/sandbox/serve.ts';
import { intercomPartner } from './index.ts';

const ctx: CallContext = { correlationId: 'corr-sandbox', idempotencyKey: 'idem-sandbox' };
const ref = { pseudonym: 'psn-sandbox-1', partnerIds: [] as string[] };
const payload = { name: { given: 'Sandy', family: 'Box' }, email: 'sandy@example.test', phone: '+46701230000' };

describe('intercom adapter against its emulator over loopback', () => {
  const emulator = intercomPartner.createEmulator();
  let served: ServedEmulator;
  beforeAll(async () => {
    served = await serveEmulator(emulator);
  });
  afterAll(() => served.close());
  beforeEach(() => emulator.reset());
  const adapter = () => intercomPartner.createAdapter(intercomPartner.sandboxOptions(served.url));

  it('creates, updates through a 409, fetches, archives and deletes', async () => {
    const a = adapter();
    const created = await a.upsert!({ payload, ref }, ctx);
    expect(created.created).toBe(true);
    expect(emulator.holdings()).toEqual({
      [created.partnerId]: {
        personal: { name: 'Sandy Box', email: 'sandy@example.test', phone: '+46701230000' },
        meta: expect.objectContaining({ external_id: 'psn-sandbox-1', role: 'user', archived: false }),
      },
    });

    // A job that lost its link creates again: the emulator's 409 sends the adapter to update instead.
    const again = await a.upsert!({ payload: { ...payload, phone: '+46709999999' }, ref }, ctx);
    expect(again).toEqual({ partnerId: created.partnerId, created: false });
    expect(emulator.holdings()[created.partnerId]?.personal.phone).toBe('+46709999999');

    const known = { ...ref, partnerIds: [created.partnerId] };
    expect(await a.fetch!(known, ctx)).toEqual({
      found: true,
      fields: { name: 'Sandy Box', email: 'sandy@example.test', phone: '+46709999999' },
    });

    await a.erase(known, 'archive', ctx);
    expect(emulator.holdings()[created.partnerId]?.meta.archived).toBe(true);

    expect(await a.erase(ref, 'delete', ctx)).toEqual({ removed: [created.partnerId] });
    expect(emulator.holdings()).toEqual({});
    expect(await a.erase(known, 'delete', ctx)).toEqual({ removed: [created.partnerId] });
    expect(await a.fetch!(known, ctx)).toEqual({ found: false, fields: {} });
  });

  it('a cleared phone and name are no longer held after the update', async () => {
    const a = adapter();
    const created = await a.upsert!({ payload, ref, cleared: ['phone'] }, ctx);
    expect(emulator.holdings()[created.partnerId]?.personal).toEqual({
      name: 'Sandy Box',
      email: 'sandy@example.test',
      phone: '+46701230000',
    });

    const known = { ...ref, partnerIds: [created.partnerId] };
    await a.upsert!(
      { payload: { email: payload.email }, ref: known, cleared: ['phone', 'name.given', 'name.family'] },
      ctx,
    );
    expect(emulator.holdings()[created.partnerId]?.personal).toEqual({ email: 'sandy@example.test' });
    expect(await a.fetch!(known, ctx)).toEqual({ found: true, fields: { email: 'sandy@example.test' } });
  });

  it('gets a permanent unauthorized with a wrong token', async () => {
    const wrong = intercomPartner.createAdapter({ ...intercomPartner.sandboxOptions(served.url), accessToken: 'nope' });
    await expect(wrong.upsert!({ payload, ref }, ctx)).rejects.toMatchObject({
      kind: 'permanent',
      status: 401,
      code: 'unauthorized',
    });
  });

  it("classifies the emulator's own 429 as retryable", async () => {
    const limited: PartnerEmulator = { ...emulator, handle: () => emulator.rateLimited(3) };
    const servedLimited = await serveEmulator(limited);
    try {
      const a = intercomPartner.createAdapter(intercomPartner.sandboxOptions(servedLimited.url));
      await expect(a.fetch!({ ...ref, partnerIds: ['x'] }, ctx)).rejects.toMatchObject({
        kind: 'retryable',
        status: 429,
        code: 'rate_limit_exceeded',
        retryAfterMs: 3000,
      });
    } finally {
      await servedLimited.close();
    }
  });
});
