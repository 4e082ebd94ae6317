import type { PartnerModule } from '../../src/emulator.ts';
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
  optionsFromEnv(env) {
    const accessToken = env.INTERCOM_ACCESS_TOKEN;
    if (!accessToken) throw new Error('intercom: missing environment variable INTERCOM_ACCESS_TOKEN');
    const baseUrl = env.PARTNER_GATEWAY_INTERCOM_BASE_URL;
    return baseUrl ? { accessToken, baseUrl } : { accessToken };
  },
  sandboxOptions: (baseUrl) => ({ accessToken: INTERCOM_SANDBOX_TOKEN, baseUrl }),
  createAdapter: createIntercomAdapter,
  createEmulator: () => createIntercomEmulator(),
};
