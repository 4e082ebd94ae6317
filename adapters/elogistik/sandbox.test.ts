import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CallContext } from '../../src/adapter.ts';
import type { PartnerEmulator } from '../../src/emulator.ts';
import { serveEmulator, type ServedEmulator } from '../../src/sandbox/serve.ts';
import { elogistikPartner } from './index.ts';

const ctx: CallContext = { correlationId: 'corr-sandbox', idempotencyKey: 'idem-sandbox' };
const ref = { pseudonym: 'psn-sandbox-1', partnerIds: [] as string[] };
const address = { street: 'Storgatan 1', postalCode: '11122', city: 'Stockholm', country: 'SE' };
const payload = {
  name: { given: 'Sandy', family: 'Box' },
  address,
  phone: '+46701230000',
  email: 'sandy@example.test',
};

describe('elogistik adapter against its emulator over loopback', () => {
  const emulator = elogistikPartner.createEmulator();
  let served: ServedEmulator;
  beforeAll(async () => {
    served = await serveEmulator(emulator);
  });
  afterAll(() => served.close());
  beforeEach(() => emulator.reset());
  const adapter = () => elogistikPartner.createAdapter(elogistikPartner.sandboxOptions(served.url));

  it('creates, replaces, fetches and erases', async () => {
    expect(await adapter().upsert!({ payload, ref }, ctx)).toEqual({ partnerId: 'psn-sandbox-1', created: true });
    expect(emulator.holdings()).toEqual({
      'psn-sandbox-1': {
        personal: {
          name: 'Sandy Box',
          phone: '+46701230000',
          email: 'sandy@example.test',
          'address.street': 'Storgatan 1',
          'address.postalCode': '11122',
          'address.city': 'Stockholm',
          'address.country': 'SE',
        },
        meta: expect.objectContaining({ ref: 'psn-sandbox-1' }),
      },
    });

    // The subject removed their phone: PUT replaces, so E-logistik no longer holds it.
    const { phone: _phone, ...withoutPhone } = payload;
    expect(await adapter().upsert!({ payload: withoutPhone, ref }, ctx)).toEqual({
      partnerId: 'psn-sandbox-1',
      created: false,
    });
    expect(emulator.holdings()['psn-sandbox-1']?.personal).not.toHaveProperty('phone');
    expect((await adapter().fetch!(ref, ctx)).fields).toEqual({
      name: 'Sandy Box',
      email: 'sandy@example.test',
      'address.street': 'Storgatan 1',
      'address.postalCode': '11122',
      'address.city': 'Stockholm',
      'address.country': 'SE',
    });

    expect(await adapter().erase(ref, 'delete', ctx)).toEqual({ removed: ['psn-sandbox-1'] });
    expect(emulator.holdings()).toEqual({});
    expect(await adapter().erase(ref, 'delete', ctx)).toEqual({ removed: ['psn-sandbox-1'] });
    expect(await adapter().fetch!(ref, ctx)).toEqual({ found: false, fields: {} });
  });

  it("gets the contract's 400 for a payload without an address, and 401 for a wrong token", async () => {
    await expect(adapter().upsert!({ payload: { email: 'sandy@example.test' }, ref }, ctx)).rejects.toMatchObject({
      kind: 'permanent',
      status: 400,
      code: 'invalid_body',
    });
    const wrong = elogistikPartner.createAdapter({ ...elogistikPartner.sandboxOptions(served.url), token: 'nope' });
    await expect(wrong.fetch!(ref, ctx)).rejects.toMatchObject({
      kind: 'permanent',
      status: 401,
      code: 'unauthorized',
    });
  });

  it("classifies the emulator's own 429 as retryable", async () => {
    const limited: PartnerEmulator = { ...emulator, handle: () => emulator.rateLimited(1) };
    const servedLimited = await serveEmulator(limited);
    try {
      const a = elogistikPartner.createAdapter(elogistikPartner.sandboxOptions(servedLimited.url));
      await expect(a.erase(ref, 'delete', ctx)).rejects.toMatchObject({
        kind: 'retryable',
        status: 429,
        code: 'rate_limited',
        retryAfterMs: 1000,
      });
    } finally {
      await servedLimited.close();
    }
  });
});
