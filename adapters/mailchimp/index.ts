import type { PartnerModule } from '../../src/emulator.ts';
import { envVariable, optionsFromEnvSchema } from '../common/env.ts';
import { createMailchimpAdapter, type MailchimpOptions } from './adapter.ts';
import { MAILCHIMP_SANDBOX_API_KEY, MAILCHIMP_SANDBOX_LIST_ID, createMailchimpEmulator } from './emulator.ts';

export type { MailchimpOptions } from './adapter.ts';
export type { MailchimpEmulatorOptions } from './emulator.ts';
export { createMailchimpAdapter, subscriberHash } from './adapter.ts';
export { createMailchimpEmulator, MAILCHIMP_SANDBOX_API_KEY, MAILCHIMP_SANDBOX_LIST_ID } from './emulator.ts';

export const mailchimpPartner: PartnerModule<MailchimpOptions> = {
  partner: 'mailchimp',
  ...optionsFromEnvSchema(
    'mailchimp',
    {
      MAILCHIMP_API_KEY: envVariable.text('API key of the account'),
      MAILCHIMP_SERVER_PREFIX: envVariable.matching(
        'data-centre prefix, the suffix of the API key (e.g. us21)',
        /^[a-z]+[0-9]+$/,
        'a data-centre prefix such as us21',
      ),
      MAILCHIMP_LIST_ID: envVariable.text('the audience (list) id the members live in'),
      PARTNER_GATEWAY_MAILCHIMP_BASE_URL: envVariable
        .baseUrl(
          'mailchimp',
          'API root (default https://{prefix}.api.mailchimp.com/3.0; /3.0 is appended when missing)',
        )
        .optional(),
    },
    (v): MailchimpOptions => ({
      apiKey: v.MAILCHIMP_API_KEY,
      server: v.MAILCHIMP_SERVER_PREFIX,
      listId: v.MAILCHIMP_LIST_ID,
      ...(v.PARTNER_GATEWAY_MAILCHIMP_BASE_URL ? { baseUrl: v.PARTNER_GATEWAY_MAILCHIMP_BASE_URL } : {}),
    }),
  ),
  sandboxOptions: (baseUrl) => ({
    apiKey: MAILCHIMP_SANDBOX_API_KEY,
    server: 'us1',
    listId: MAILCHIMP_SANDBOX_LIST_ID,
    baseUrl: `${baseUrl.replace(/\/+$/, '')}/3.0`,
  }),
  createAdapter: createMailchimpAdapter,
  createEmulator: () => createMailchimpEmulator(),
};
