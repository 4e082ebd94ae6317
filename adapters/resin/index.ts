import type { PartnerModule } from '../../src/emulator.ts';
import { envVariable, optionsFromEnvSchema } from '../common/env.ts';
import { createResinAdapter, type ResinOptions } from './adapter.ts';
import { RESIN_SANDBOX_API_KEY, createResinEmulator } from './emulator.ts';

export { createResinAdapter, BALENA_BASE_URL, DEVICE_PERSONAL_FIELDS } from './adapter.ts';
export type { ResinOptions } from './adapter.ts';
export { createResinEmulator, RESIN_SANDBOX_API_KEY } from './emulator.ts';
export type { Device, ResinEmulator, ResinEmulatorOptions, SeedDevice } from './emulator.ts';

export const resinPartner: PartnerModule<ResinOptions> = {
  partner: 'resin',
  ...optionsFromEnvSchema(
    'resin',
    {
      BALENA_API_KEY: envVariable.text('balena named API key (or session token)'),
      PARTNER_GATEWAY_RESIN_BASE_URL: envVariable
        .baseUrl('resin', 'API origin, e.g. an openBalena (default https://api.balena-cloud.com)')
        .optional(),
    },
    (v): ResinOptions => ({
      apiKey: v.BALENA_API_KEY,
      ...(v.PARTNER_GATEWAY_RESIN_BASE_URL ? { baseUrl: v.PARTNER_GATEWAY_RESIN_BASE_URL } : {}),
    }),
  ),
  sandboxOptions: (baseUrl) => ({ apiKey: RESIN_SANDBOX_API_KEY, baseUrl }),
  createAdapter: createResinAdapter,
  createEmulator: () => createResinEmulator(),
};
