import type { PartnerModule } from '../../src/emulator.ts';
import { envVariable, optionsFromEnvSchema } from '../common/env.ts';
import { createAuth0Adapter, type Auth0Options } from './adapter.ts';
import { createAuth0Emulator } from './emulator.ts';

export type { Auth0Options } from './adapter.ts';
export { createAuth0Adapter } from './adapter.ts';
export { createAuth0Emulator, type Auth0Emulator, type SeedUser } from './emulator.ts';

export const auth0Partner: PartnerModule<Auth0Options> = {
  partner: 'auth0',
  ...optionsFromEnvSchema(
    'auth0',
    {
      AUTH0_DOMAIN: envVariable.matching(
        'tenant host name, e.g. example.eu.auth0.com',
        /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$/,
        'a host name without scheme or path',
      ),
      AUTH0_CLIENT_ID: envVariable.text('client id of a machine-to-machine application'),
      AUTH0_CLIENT_SECRET: envVariable.text('client secret of that application'),
      AUTH0_CONNECTION: envVariable
        .text('database connection new users are created in (required with AUTH0_CREATE_USERS=true)')
        .optional(),
      AUTH0_CREATE_USERS: envVariable
        .flag('create users the host has no Auth0 id for: true or false (default false)')
        .optional(),
      PARTNER_GATEWAY_AUTH0_BASE_URL: envVariable
        .baseUrl('auth0', 'another origin (and path) for both the token call and the Management API, e.g. the sandbox')
        .optional(),
    },
    (v): Auth0Options => ({
      domain: v.AUTH0_DOMAIN,
      clientId: v.AUTH0_CLIENT_ID,
      clientSecret: v.AUTH0_CLIENT_SECRET,
      createUsers: v.AUTH0_CREATE_USERS ?? false,
      ...(v.AUTH0_CONNECTION ? { connection: v.AUTH0_CONNECTION } : {}),
      ...(v.PARTNER_GATEWAY_AUTH0_BASE_URL ? { baseUrl: v.PARTNER_GATEWAY_AUTH0_BASE_URL } : {}),
    }),
    (v, ctx) => {
      if (v.AUTH0_CREATE_USERS && !v.AUTH0_CONNECTION)
        ctx.addIssue({ code: 'custom', path: ['AUTH0_CONNECTION'], message: 'required with AUTH0_CREATE_USERS=true' });
    },
  ),
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
