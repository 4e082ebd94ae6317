/** The partner module: what the gateway, the sandbox and partner-gateway/testing need of a partner. */
// In your project: 'partner-gateway' and 'partner-gateway/adapters'.
import { envVariable, optionsFromEnvSchema } from '../../adapters/index.ts';
import type { PartnerModule } from '../../src/index.ts';
import { createRewardsAdapter, type RewardsOptions } from './adapter.ts';
import { REWARDS_SANDBOX_KEY, createRewardsEmulator } from './emulator.ts';

export { createRewardsAdapter, type RewardsOptions } from './adapter.ts';
export { createRewardsEmulator, REWARDS_SANDBOX_KEY } from './emulator.ts';

// Declared once: the variables, what each means (the CLI's --help and README list them), and one
// wording for a missing or invalid one, as every shipped partner has.
const env = optionsFromEnvSchema(
  'rewards',
  {
    REWARDS_API_KEY: envVariable.text('the Rewards API key'),
    REWARDS_BASE_URL: envVariable.baseUrl('rewards', 'the Rewards API base URL (https)'),
  },
  (v): RewardsOptions => ({ apiKey: v.REWARDS_API_KEY, baseUrl: v.REWARDS_BASE_URL }),
);

export const rewardsPartner: PartnerModule<RewardsOptions> = {
  partner: 'rewards',
  ...env,
  sandboxOptions: (baseUrl) => ({ apiKey: REWARDS_SANDBOX_KEY, baseUrl }),
  createAdapter: createRewardsAdapter,
  createEmulator: createRewardsEmulator,
};
