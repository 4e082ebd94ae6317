import type { PartnerModule } from '../../src/emulator.ts';
import { createMailchimpAdapter, type MailchimpOptions } from './adapter.ts';
import { MAILCHIMP_SANDBOX_API_KEY, MAILCHIMP_SANDBOX_LIST_ID, createMailchimpEmulator } from './emulator.ts';

export type { MailchimpOptions } from './adapter.ts';
export type { MailchimpEmulatorOptions } from './emulator.ts';
export { createMailchimpAdapter, subscriberHash } from './adapter.ts';
export { createMailchimpEmulator, MAILCHIMP_SANDBOX_API_KEY, MAILCHIMP_SANDBOX_LIST_ID } from './emulator.ts';

const REQUIRED = ['MAILCHIMP_API_KEY', 'MAILCHIMP_SERVER_PREFIX', 'MAILCHIMP_LIST_ID'] as const;

export const mailchimpPartner: PartnerModule<MailchimpOptions> = {
  partner: 'mailchimp',
  optionsFromEnv(env) {
    const missing = REQUIRED.filter((name) => !env[name]);
    if (missing.length > 0) throw new Error(`mailchimp: missing environment variables: ${missing.join(', ')}`);
    const baseUrl = env.PARTNER_GATEWAY_MAILCHIMP_BASE_URL;
    return {
      apiKey: env.MAILCHIMP_API_KEY!,
      server: env.MAILCHIMP_SERVER_PREFIX!,
      listId: env.MAILCHIMP_LIST_ID!,
      ...(baseUrl ? { baseUrl } : {}),
    };
  },
  sandboxOptions: (baseUrl) => ({
    apiKey: MAILCHIMP_SANDBOX_API_KEY,
    server: 'us1',
    listId: MAILCHIMP_SANDBOX_LIST_ID,
    baseUrl: `${baseUrl.replace(/\/+$/, '')}/3.0`,
  }),
  createAdapter: createMailchimpAdapter,
  createEmulator: () => createMailchimpEmulator(),
};
