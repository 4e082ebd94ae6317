import type { PartnerModule } from '../../src/emulator.ts';
import { envVariable, optionsFromEnvSchema } from '../common/env.ts';
import { createStripeAdapter, type StripeOptions } from './adapter.ts';
import { createStripeEmulator } from './emulator.ts';

export type { StripeOptions } from './adapter.ts';
export { createStripeAdapter } from './adapter.ts';
export { createStripeEmulator } from './emulator.ts';

const env = optionsFromEnvSchema(
  'stripe',
  {
    STRIPE_API_KEY: envVariable.matching(
      'secret (sk_…) or restricted (rk_…) key with write access to customers',
      /^(sk|rk)_[A-Za-z0-9_]+$/,
      'a key starting sk_ or rk_',
    ),
    PARTNER_GATEWAY_STRIPE_BASE_URL: envVariable
      .baseUrl('stripe', 'another API origin, e.g. the sandbox (default https://api.stripe.com)')
      .optional(),
  },
  (v): StripeOptions => ({
    apiKey: v.STRIPE_API_KEY,
    ...(v.PARTNER_GATEWAY_STRIPE_BASE_URL ? { baseUrl: v.PARTNER_GATEWAY_STRIPE_BASE_URL } : {}),
  }),
);

export const stripePartner: PartnerModule<StripeOptions> = {
  partner: 'stripe',
  ...env,
  // The emulator's search index has no lag, unlike Stripe's (about a minute).
  sandboxOptions: (baseUrl) => ({ apiKey: 'sk_test_sandbox', baseUrl, searchLagMs: 0 }),
  createAdapter: createStripeAdapter,
  createEmulator: createStripeEmulator,
};
