import type { PartnerModule } from '../../src/emulator.ts';
import { envVariable, optionsFromEnvSchema } from '../common/env.ts';
import { createIntercomAdapter, type IntercomOptions } from './adapter.ts';
import { INTERCOM_SANDBOX_TOKEN, createIntercomEmulator } from './emulator.ts';

export {
  createIntercomAdapter,
  INTERCOM_BASE_URL,
  INTERCOM_EU_BASE_URL,
  INTERCOM_AU_BASE_URL,
  INTERCOM_API_VERSION,
} from './adapter.ts';
export type { IntercomOptions } from './adapter.ts';
export { createIntercomEmulator, INTERCOM_SANDBOX_TOKEN } from './emulator.ts';
export type { IntercomEmulatorOptions } from './emulator.ts';

export const intercomPartner: PartnerModule<IntercomOptions> = {
  partner: 'intercom',
  ...optionsFromEnvSchema(
    'intercom',
    {
      INTERCOM_ACCESS_TOKEN: envVariable.text('access token of the Intercom app'),
      PARTNER_GATEWAY_INTERCOM_BASE_URL: envVariable
        .baseUrl(
          'intercom',
          'API origin: default https://api.intercom.io; EU workspaces https://api.eu.intercom.io, AU https://api.au.intercom.io',
        )
        .optional(),
    },
    (v): IntercomOptions => ({
      accessToken: v.INTERCOM_ACCESS_TOKEN,
      ...(v.PARTNER_GATEWAY_INTERCOM_BASE_URL ? { baseUrl: v.PARTNER_GATEWAY_INTERCOM_BASE_URL } : {}),
    }),
  ),
  sandboxOptions: (baseUrl) => ({ accessToken: INTERCOM_SANDBOX_TOKEN, baseUrl }),
  createAdapter: createIntercomAdapter,
  createEmulator: () => createIntercomEmulator(),
};
