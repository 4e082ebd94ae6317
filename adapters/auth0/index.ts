import type { PartnerModule } from '../../src/emulator.ts';
import { createAuth0Adapter, type Auth0Options } from './adapter.ts';
import { createAuth0Emulator } from './emulator.ts';

export type { Auth0Options } from './adapter.ts';
export { createAuth0Adapter } from './adapter.ts';
export { createAuth0Emulator, type Auth0Emulator, type SeedUser } from './emulator.ts';

export const auth0Partner: PartnerModule<Auth0Options> = {
  partner: 'auth0',
  optionsFromEnv(env) {
    const read = (name: string) => env[name]?.trim() || undefined;
    const flag = read('AUTH0_CREATE_USERS')?.toLowerCase();
    const problems: string[] = [];
    if (flag !== undefined && !['true', 'false', '1', '0'].includes(flag)) {
      problems.push('AUTH0_CREATE_USERS must be true or false');
    }
    const createUsers = flag === 'true' || flag === '1';
    const required = [
      'AUTH0_DOMAIN',
      'AUTH0_CLIENT_ID',
      'AUTH0_CLIENT_SECRET',
      ...(createUsers ? ['AUTH0_CONNECTION'] : []),
    ];
    const missing = required.filter((name) => read(name) === undefined);
    if (missing.length > 0) problems.unshift(`missing environment variable(s): ${missing.join(', ')}`);
    if (problems.length > 0) throw new Error(`auth0: ${problems.join('; ')}`);
    const connection = read('AUTH0_CONNECTION');
    const baseUrl = read('PARTNER_GATEWAY_AUTH0_BASE_URL');
    return {
      domain: read('AUTH0_DOMAIN') as string,
      clientId: read('AUTH0_CLIENT_ID') as string,
      clientSecret: read('AUTH0_CLIENT_SECRET') as string,
      createUsers,
      ...(connection ? { connection } : {}),
      ...(baseUrl ? { baseUrl } : {}),
    };
  },
  // The domain is never resolved: every call goes to baseUrl. createUsers lets the demo start empty.
  sandboxOptions: (baseUrl) => ({
    domain: 'sandbox.auth0.invalid',
    clientId: 'sandbox-client',
    clientSecret: 'sandbox-secret',
    connection: 'Username-Password-Authentication',
    createUsers: true,
    baseUrl,
  }),
  createAdapter: createAuth0Adapter,
  createEmulator: createAuth0Emulator,
};
