import type { PartnerModule } from '../../src/emulator.ts';
import { createStripeAdapter, type StripeOptions } from './adapter.ts';
import { createStripeEmulator } from './emulator.ts';

export type { StripeOptions } from './adapter.ts';
export { createStripeAdapter } from './adapter.ts';
export { createStripeEmulator } from './emulator.ts';

export const stripePartner: PartnerModule<StripeOptions> = {
  partner: 'stripe',
  optionsFromEnv(env) {
    const apiKey = env.STRIPE_API_KEY?.trim();
    if (!apiKey) throw new Error('stripe: missing environment variable(s): STRIPE_API_KEY');
    const baseUrl = env.PARTNER_GATEWAY_STRIPE_BASE_URL?.trim();
    return { apiKey, ...(baseUrl ? { baseUrl } : {}) };
  },
  sandboxOptions: (baseUrl) => ({ apiKey: 'sk_test_sandbox', baseUrl }),
  createAdapter: createStripeAdapter,
  createEmulator: createStripeEmulator,
};
