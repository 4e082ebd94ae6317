import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CallContext } from '../../src/adapter.ts';
import type { PartnerEmulator } from '../../src/emulator.ts';
import { serveEmulator, type ServedEmulator } from '../../src/sandbox/serve.ts';
import { createResinEmulator } from './emulator.ts';
import { resinPartner } from './index.ts';

const ctx: CallContext = { correlationId: 'corr-sandbox', idempotencyKey: 'idem-sandbox' };

describe('resin adapter against its emulator over loopback', () => {
  const emulator = createResinEmulator();
  let served: ServedEmulator;
  beforeAll(async () => {
    served = await serveEmulator(emulator);
  });
  afterAll(() => served.close());
  beforeEach(() => emulator.reset());
  const adapter = () => resinPartner.createAdapter(resinPartner.sandboxOptions(served.url));

  it("fetches the cameras' reported addresses, then removes the devices", async () => {
    const mine = [
      emulator.seedDevice({
        ip_address: '192.168.1.20',
        public_address: '198.51.100.7',
        mac_address: '00:11:22:33:44:55',
        device_name: 'hall-cam',
      }),
      emulator.seedDevice({ ip_address: '192.168.1.21', latitude: '59.33', longitude: '18.06' }),
    ];
    const someoneElse = emulator.seedDevice({ ip_address: '192.168.9.9' });
    const ref = { pseudonym: 'psn-sandbox-1', partnerIds: mine.map((d) => String(d.id)) };
    const [a, b] = ref.partnerIds as [string, string];

    expect(await adapter().fetch!(ref, ctx)).toEqual({
      found: true,
      fields: {
        [`ip_address.${a}`]: '192.168.1.20',
        [`public_address.${a}`]: '198.51.100.7',
        [`mac_address.${a}`]: '00:11:22:33:44:55',
        [`device_name.${a}`]: 'hall-cam',
        [`ip_address.${b}`]: '192.168.1.21',
        [`latitude.${b}`]: '59.33',
        [`longitude.${b}`]: '18.06',
      },
    });

    expect(await adapter().erase(ref, 'delete', ctx)).toEqual({ removed: [a, b] });
    expect(Object.keys(emulator.holdings())).toEqual([String(someoneElse.id)]);
    expect(await adapter().erase(ref, 'delete', ctx)).toEqual({ removed: [a, b] });
    expect(await adapter().fetch!(ref, ctx)).toEqual({ found: false, fields: {} });
  });

  it('gets a permanent 401 with a wrong key', async () => {
    const wrong = resinPartner.createAdapter({ ...resinPartner.sandboxOptions(served.url), apiKey: 'nope' });
    // balena (pinejs) answers 401 with no body, so there is no reason phrase to take a code from.
    await expect(wrong.erase({ pseudonym: 'p', partnerIds: ['1'] }, 'delete', ctx)).rejects.toMatchObject({
      kind: 'permanent',
      status: 401,
    });
  });

  it("classifies the emulator's own 429 as retryable", async () => {
    const limited: PartnerEmulator = { ...emulator, handle: () => emulator.rateLimited(2) };
    const servedLimited = await serveEmulator(limited);
    try {
      const a = resinPartner.createAdapter(resinPartner.sandboxOptions(servedLimited.url));
      await expect(a.erase({ pseudonym: 'p', partnerIds: ['1'] }, 'delete', ctx)).rejects.toMatchObject({
        kind: 'retryable',
        status: 429,
        retryAfterMs: 2000,
      });
    } finally {
      await servedLimited.close();
    }
  });
});
