import type { PartnerModule } from '../../src/emulator.ts';
import { createTwilioAdapter, type TwilioOptions } from './adapter.ts';
import {
  TWILIO_SANDBOX_ACCOUNT_SID,
  TWILIO_SANDBOX_AUTH_TOKEN,
  TWILIO_SANDBOX_FROM,
  createTwilioEmulator,
} from './emulator.ts';

export type { TwilioOptions } from './adapter.ts';
export type { TwilioEmulatorOptions } from './emulator.ts';
export { createTwilioAdapter } from './adapter.ts';
export {
  createTwilioEmulator,
  TWILIO_SANDBOX_ACCOUNT_SID,
  TWILIO_SANDBOX_AUTH_TOKEN,
  TWILIO_SANDBOX_FROM,
} from './emulator.ts';

const REQUIRED = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'] as const;

export const twilioPartner: PartnerModule<TwilioOptions> = {
  partner: 'twilio',
  optionsFromEnv(env) {
    const missing = REQUIRED.filter((name) => !env[name]);
    if (missing.length > 0) throw new Error(`twilio: missing environment variables: ${missing.join(', ')}`);
    const baseUrl = env.PARTNER_GATEWAY_TWILIO_BASE_URL;
    return {
      accountSid: env.TWILIO_ACCOUNT_SID!,
      authToken: env.TWILIO_AUTH_TOKEN!,
      from: env.TWILIO_FROM!,
      ...(baseUrl ? { baseUrl } : {}),
    };
  },
  sandboxOptions: (baseUrl) => ({
    accountSid: TWILIO_SANDBOX_ACCOUNT_SID,
    authToken: TWILIO_SANDBOX_AUTH_TOKEN,
    from: TWILIO_SANDBOX_FROM,
    baseUrl,
  }),
  createAdapter: createTwilioAdapter,
  createEmulator: () => createTwilioEmulator(),
};
