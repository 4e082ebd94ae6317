/** The partner module: what the gateway, the sandbox and partner-gateway/testing need of a partner. */
import type { PartnerModule } from '../../src/index.ts';
import { createRewardsAdapter, type RewardsOptions } from './adapter.ts';
import { REWARDS_SANDBOX_KEY, createRewardsEmulator } from './emulator.ts';

export { createRewardsAdapter, type RewardsOptions } from './adapter.ts';
export { createRewardsEmulator, REWARDS_SANDBOX_KEY } from './emulator.ts';

export const rewardsPartner: PartnerModule<RewardsOptions> = {
  partner: 'rewards',
  optionsFromEnv(env) {
    const missing = ['REWARDS_API_KEY', 'REWARDS_BASE_URL'].filter((name) => !env[name]);
    if (missing.length > 0) throw new Error(`rewards: missing environment variable(s) ${missing.join(', ')}`);
    return { apiKey: env.REWARDS_API_KEY!, baseUrl: env.REWARDS_BASE_URL! };
  },
  environment: [
    { name: 'REWARDS_API_KEY', required: true, description: 'the Rewards API key' },
    { name: 'REWARDS_BASE_URL', required: true, description: 'the Rewards API base URL' },
  ],
  sandboxOptions: (baseUrl) => ({ apiKey: REWARDS_SANDBOX_KEY, baseUrl }),
  createAdapter: createRewardsAdapter,
  createEmulator: createRewardsEmulator,
};
