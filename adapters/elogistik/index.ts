import type { PartnerModule } from '../../src/emulator.ts';
import { envVariable, optionsFromEnvSchema } from '../common/env.ts';
import { createElogistikAdapter, type ElogistikOptions } from './adapter.ts';
import { ELOGISTIK_SANDBOX_TOKEN, createElogistikEmulator } from './emulator.ts';

export { createElogistikAdapter } from './adapter.ts';
export type { ElogistikOptions } from './adapter.ts';
export { createElogistikEmulator, ELOGISTIK_SANDBOX_TOKEN } from './emulator.ts';
export type { ElogistikEmulatorOptions } from './emulator.ts';

const env = optionsFromEnvSchema(
  'elogistik',
  {
    ELOGISTIK_TOKEN: envVariable.text('bearer token of the API'),
    ELOGISTIK_BASE_URL: envVariable.baseUrl('elogistik', 'API origin (E-logistik has no public default)'),
  },
  (v): ElogistikOptions => ({ token: v.ELOGISTIK_TOKEN, baseUrl: v.ELOGISTIK_BASE_URL }),
);

export const elogistikPartner: PartnerModule<ElogistikOptions> = {
  partner: 'elogistik',
  ...env,
  sandboxOptions: (baseUrl) => ({ token: ELOGISTIK_SANDBOX_TOKEN, baseUrl }),
  createAdapter: createElogistikAdapter,
  createEmulator: () => createElogistikEmulator(),
};
