import type { PartnerModule } from '../../src/emulator.ts';
import { createElogistikAdapter, type ElogistikOptions } from './adapter.ts';
import { ELOGISTIK_SANDBOX_TOKEN, createElogistikEmulator } from './emulator.ts';

export { createElogistikAdapter } from './adapter.ts';
export type { ElogistikOptions } from './adapter.ts';
export { createElogistikEmulator, ELOGISTIK_SANDBOX_TOKEN } from './emulator.ts';
export type { ElogistikEmulatorOptions } from './emulator.ts';

export const elogistikPartner: PartnerModule<ElogistikOptions> = {
  partner: 'elogistik',
  optionsFromEnv(env) {
    const missing = ['ELOGISTIK_TOKEN', 'ELOGISTIK_BASE_URL'].filter((name) => !env[name]);
    if (missing.length > 0) throw new Error(`elogistik: missing environment variable(s) ${missing.join(', ')}`);
    return { token: env.ELOGISTIK_TOKEN!, baseUrl: env.ELOGISTIK_BASE_URL! };
  },
  sandboxOptions: (baseUrl) => ({ token: ELOGISTIK_SANDBOX_TOKEN, baseUrl }),
  createAdapter: createElogistikAdapter,
  createEmulator: () => createElogistikEmulator(),
};
