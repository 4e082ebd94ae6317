/**
 * An example config for the ops CLI: master records come from examples/customers.json (made-up
 * customers; regenerate with `npx node examples/generate-customers.ts`).
 *
 *   export PARTNER_GATEWAY_PSEUDONYM_KEY=demo-pseudonym-key-0123456789
 *   npx partner-gateway sandbox                      # in one terminal; prints the inspect url
 *   npx partner-gateway --config examples/partner-gateway.config.ts --sandbox <inspect url> resync
 */
import { readFileSync } from 'node:fs';
import { defineConfig } from '../src/cli/config.ts';

const customers = JSON.parse(readFileSync(new URL('./customers.json', import.meta.url), 'utf8')) as { id: string }[];
const byId = new Map(customers.map((c) => [c.id, c]));

export default defineConfig({
  source: {
    get: async (id) => byId.get(id) ?? null,
    getMany: async (ids) => new Map(ids.flatMap((id) => (byId.has(id) ? [[id, byId.get(id)] as const] : []))),
    // A real source streams from its store; this small file is parsed once and walked.
    async *scan() {
      yield* customers;
    },
  },
  hooks: {
    // The host's part in erasure: camera data never left the company, so the host anonymises it.
    anonymiseCameraData: async () => undefined,
    erased: async () => undefined,
  },
  policy: '../config/policy.yaml',
  // Every partner the policy names; list some to leave the others alone, e.g. ['elogistik', 'mailchimp'].
  // partners: ['elogistik', 'mailchimp', 'stripe', 'intercom', 'twilio', 'auth0', 'resin'],
});
