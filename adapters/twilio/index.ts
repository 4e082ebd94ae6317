import type { PartnerModule } from '../../src/emulator.ts';
import { envVariable, optionsFromEnvSchema } from '../common/env.ts';
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

export const twilioPartner: PartnerModule<TwilioOptions> = {
  partner: 'twilio',
  ...optionsFromEnvSchema(
    'twilio',
    {
      TWILIO_ACCOUNT_SID: envVariable.matching('account sid (AC…)', /^AC[0-9a-fA-F]{32}$/, 'AC and 32 hex digits'),
      TWILIO_AUTH_TOKEN: envVariable.text('auth token of the account'),
      TWILIO_FROM: envVariable.matching(
        'the Twilio number alarm calls come from, E.164 (+46…)',
        /^\+[1-9][0-9]{6,14}$/,
        'an E.164 number such as +46701234567',
      ),
      PARTNER_GATEWAY_TWILIO_BASE_URL: envVariable
        .baseUrl('twilio', 'API origin, e.g. a regional one (default https://api.twilio.com)')
        .optional(),
    },
    (v): TwilioOptions => ({
      accountSid: v.TWILIO_ACCOUNT_SID,
      authToken: v.TWILIO_AUTH_TOKEN,
      from: v.TWILIO_FROM,
      ...(v.PARTNER_GATEWAY_TWILIO_BASE_URL ? { baseUrl: v.PARTNER_GATEWAY_TWILIO_BASE_URL } : {}),
    }),
  ),
  sandboxOptions: (baseUrl) => ({
    accountSid: TWILIO_SANDBOX_ACCOUNT_SID,
    authToken: TWILIO_SANDBOX_AUTH_TOKEN,
    from: TWILIO_SANDBOX_FROM,
    baseUrl,
  }),
  createAdapter: createTwilioAdapter,
  createEmulator: () => createTwilioEmulator(),
};
