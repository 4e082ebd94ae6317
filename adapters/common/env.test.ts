import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { partnerModules } from '../index.ts';

/** A valid environment for each partner: every variable set, so one can be taken away or spoiled. */
const VALID: Record<string, Record<string, string>> = {
  elogistik: { ELOGISTIK_TOKEN: 'tok-canary-1', ELOGISTIK_BASE_URL: 'https://elogistik.example.test' },
  mailchimp: {
    MAILCHIMP_API_KEY: 'key-canary-2-us21',
    MAILCHIMP_SERVER_PREFIX: 'us21',
    MAILCHIMP_LIST_ID: 'list-canary-3',
    PARTNER_GATEWAY_MAILCHIMP_BASE_URL: 'https://mailchimp.example.test/3.0',
  },
  stripe: { STRIPE_API_KEY: 'sk_test_canary4', PARTNER_GATEWAY_STRIPE_BASE_URL: 'https://stripe.example.test' },
  intercom: { INTERCOM_ACCESS_TOKEN: 'tok-canary-5', PARTNER_GATEWAY_INTERCOM_BASE_URL: 'https://api.eu.intercom.io' },
  twilio: {
    TWILIO_ACCOUNT_SID: `AC${'c'.repeat(32)}`,
    TWILIO_AUTH_TOKEN: 'tok-canary-6',
    TWILIO_FROM: '+46700000006',
    PARTNER_GATEWAY_TWILIO_BASE_URL: 'https://twilio.example.test',
  },
  auth0: {
    AUTH0_DOMAIN: 'canary7.eu.auth0.com',
    AUTH0_CLIENT_ID: 'client-canary-7',
    AUTH0_CLIENT_SECRET: 'secret-canary-7',
    AUTH0_CONNECTION: 'db-canary-7',
    AUTH0_CREATE_USERS: 'true',
    PARTNER_GATEWAY_AUTH0_BASE_URL: 'https://auth0.example.test',
  },
  resin: { BALENA_API_KEY: 'key-canary-8', PARTNER_GATEWAY_RESIN_BASE_URL: 'https://balena.example.test' },
};

const messageOf = (read: () => unknown): string => {
  try {
    read();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected optionsFromEnv to throw');
};

describe.each(partnerModules.map((m) => [m.partner, m] as const))('%s environment', (partner, module) => {
  const valid = VALID[partner]!;

  it('declares every variable it reads, each described, and reads the valid set', () => {
    expect(module.environment.map((v) => v.name).sort()).toEqual(Object.keys(valid).sort());
    for (const v of module.environment) expect(v.description.length).toBeGreaterThan(10);
    expect(() => module.optionsFromEnv(valid)).not.toThrow();
  });

  it('names every missing required variable in one wording, and never a value', () => {
    const required = module.environment.filter((v) => v.required).map((v) => v.name);
    expect(required.length).toBeGreaterThan(0);
    const message = messageOf(() => module.optionsFromEnv({}));
    expect(message).toBe(`${partner}: environment variable ${required.map((n) => `${n} is missing`).join('; ')}`);
    for (const name of required) {
      const { [name]: _gone, ...rest } = valid;
      const without = messageOf(() => module.optionsFromEnv({ ...rest, [name]: '  ' }));
      expect(without).toMatch(new RegExp(`^${partner}: environment variable ${name} is missing`));
      for (const value of Object.values(rest)) expect(without).not.toContain(value);
    }
  });

  it('calls a malformed base URL invalid without echoing it', () => {
    const name = module.environment.find((v) => v.name.endsWith('_BASE_URL'))!.name;
    for (const bad of ['http://canary-host.example.test', 'http://127.0.0.1.nip.io', 'not a url canary']) {
      const message = messageOf(() => module.optionsFromEnv({ ...valid, [name]: bad }));
      expect(message).toMatch(new RegExp(`^${partner}: environment variable ${name} is invalid \\(.+\\)$`));
      expect(message).not.toMatch(/canary|nip\.io/);
    }
  });

  it('reads only its declared variables', () => {
    const read = new Set<string>();
    const env = new Proxy(valid, { get: (target, key) => (read.add(String(key)), target[String(key)]) });
    module.optionsFromEnv(env);
    expect([...read].sort()).toEqual(module.environment.map((v) => v.name).sort());
  });
});

describe('environment variables: formats and cross-variable rules', () => {
  const mod = (name: string) => partnerModules.find((m) => m.partner === name)!;

  it('says what a malformed value should be, never what it was', () => {
    const cases: [string, string, string][] = [
      ['stripe', 'STRIPE_API_KEY', 'pk_live_canary'],
      ['twilio', 'TWILIO_ACCOUNT_SID', 'canary-sid'],
      ['twilio', 'TWILIO_FROM', '0700 canary'],
      ['mailchimp', 'MAILCHIMP_SERVER_PREFIX', 'canary.example'],
      ['auth0', 'AUTH0_DOMAIN', 'https://canary.auth0.com/'],
      ['auth0', 'AUTH0_CREATE_USERS', 'yes canary'],
    ];
    for (const [partner, name, bad] of cases) {
      const message = messageOf(() => mod(partner).optionsFromEnv({ ...VALID[partner], [name]: bad }));
      expect(message).toMatch(new RegExp(`^${partner}: environment variable ${name} is invalid \\(expected .+\\)$`));
      expect(message).not.toContain('canary');
    }
  });

  it('auth0: creating users needs a connection', () => {
    const { AUTH0_CONNECTION: _c, ...env } = VALID.auth0!;
    expect(messageOf(() => mod('auth0').optionsFromEnv(env))).toBe(
      'auth0: environment variable AUTH0_CONNECTION is missing (required with AUTH0_CREATE_USERS=true)',
    );
    expect(mod('auth0').optionsFromEnv({ ...env, AUTH0_CREATE_USERS: 'FALSE' })).toMatchObject({ createUsers: false });
  });

  it('maps the variables to the options', () => {
    expect(mod('stripe').optionsFromEnv(VALID.stripe!)).toEqual({
      apiKey: 'sk_test_canary4',
      baseUrl: 'https://stripe.example.test',
    });
    expect(mod('auth0').optionsFromEnv(VALID.auth0!)).toEqual({
      domain: 'canary7.eu.auth0.com',
      clientId: 'client-canary-7',
      clientSecret: 'secret-canary-7',
      connection: 'db-canary-7',
      createUsers: true,
      baseUrl: 'https://auth0.example.test',
    });
    expect(mod('resin').optionsFromEnv({ BALENA_API_KEY: ' k ' })).toEqual({ apiKey: 'k' });
  });
});

describe('README', () => {
  it('lists every environment variable the adapters read', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Environment variables'));
    expect(section.length, 'README has an "Environment variables" section').toBeLessThan(readme.length);
    const listed = section.slice(0, section.indexOf('\n## ', 4));
    for (const m of partnerModules)
      for (const v of m.environment) expect(listed, `${v.name} (${m.partner})`).toContain(`\`${v.name}\``);
  });

  it("lists every PARTNER_GATEWAY_ variable the gateway's own code reads", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Environment variables'));
    const listed = section.slice(0, section.indexOf('\n## ', 4));
    const read = new Set<string>();
    for (const dir of ['../../src', '../../bin', '../../adapters'])
      for (const file of readdirSync(new URL(dir, import.meta.url), { recursive: true, encoding: 'utf8' }))
        if (/\.(ts|js)$/.test(file) && !/\.test\.ts$/.test(file))
          for (const [name] of readFileSync(new URL(`${dir}/${file}`, import.meta.url), 'utf8').matchAll(
            /PARTNER_GATEWAY_[A-Z][A-Z0-9_]*[A-Z0-9]/g,
          ))
            read.add(name);
    expect(read.size).toBeGreaterThan(10);
    for (const name of read) expect(listed, name).toContain(`\`${name}\``);
  });
});
