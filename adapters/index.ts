/**
 * Every partner this project ships, by policy name. The composition roots (src/index.ts, the CLI,
 * the sandbox) wire partners from here; the core never imports this file.
 *
 * A partner's API knowledge (paths, its own headers, status handling, bodies, SDK calls, quirks) lives
 * in adapters/<partner>/ and nowhere else. adapters/common/ holds generic plumbing only, no partner
 * API knowledge: the REST client on node:http (rest-client.ts, http-request.ts), helpers on the contract's own types
 * (results.ts) and the tests' helpers (test-helpers.ts).
 */
import type { PartnerModule } from '../src/emulator.ts';
import { auth0Partner } from './auth0/index.ts';
import { elogistikPartner } from './elogistik/index.ts';
import { intercomPartner } from './intercom/index.ts';
import { mailchimpPartner } from './mailchimp/index.ts';
import { resinPartner } from './resin/index.ts';
import { stripePartner } from './stripe/index.ts';
import { twilioPartner } from './twilio/index.ts';

export const partnerModules: readonly PartnerModule<never>[] = [
  elogistikPartner,
  mailchimpPartner,
  stripePartner,
  intercomPartner,
  twilioPartner,
  auth0Partner,
  resinPartner,
] as unknown as readonly PartnerModule<never>[];

export function partnerModule(name: string): PartnerModule<never> {
  const found = partnerModules.find((m) => m.partner === name);
  if (!found)
    throw new Error(`unknown partner ${name}: expected one of ${partnerModules.map((m) => m.partner).join(', ')}`);
  return found;
}

/** For partner modules of a host's own: the environment variables declared as the shipped ones are. */
export { envVariable, optionsFromEnvSchema } from './common/env.ts';

export {
  auth0Partner,
  elogistikPartner,
  intercomPartner,
  mailchimpPartner,
  resinPartner,
  stripePartner,
  twilioPartner,
};
