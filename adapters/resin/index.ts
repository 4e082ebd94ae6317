import type { PartnerModule } from '../../src/emulator.ts';
import { createResinAdapter, type ResinOptions } from './adapter.ts';
import { RESIN_SANDBOX_API_KEY, createResinEmulator } from './emulator.ts';

export { createResinAdapter, BALENA_BASE_URL, DEVICE_PERSONAL_FIELDS } from './adapter.ts';
export type { ResinOptions } from './adapter.ts';
export { createResinEmulator, RESIN_SANDBOX_API_KEY } from './emulator.ts';
export type { Device, ResinEmulator, ResinEmulatorOptions, SeedDevice } from './emulator.ts';

export const resinPartner: PartnerModule<ResinOptions> = {
  partner: 'resin',
  optionsFromEnv(env) {
    const apiKey = env.BALENA_API_KEY;
    if (!apiKey) throw new Error('resin: missing environment variable BALENA_API_KEY');
    const baseUrl = env.PARTNER_GATEWAY_RESIN_BASE_URL;
    return baseUrl ? { apiKey, baseUrl } : { apiKey };
  },
  sandboxOptions: (baseUrl) => ({ apiKey: RESIN_SANDBOX_API_KEY, baseUrl }),
  createAdapter: createResinAdapter,
  createEmulator: () => createResinEmulator(),
};
