/**
 * A gateway opened to read only: status, dead letters, health and the transfer log, for whoever
 * watches or audits without the pseudonym key (the CLI's status, dead-letters list and audit
 * commands). It opens the store as createGateway does (migrations, queues) but holds no pseudonym
 * or digest key, stores no key fingerprint, and offers nothing that changes a subject or calls a
 * partner. The log verifies and seals with PARTNER_GATEWAY_AUDIT_KEY when set; without it, verify
 * throws a KeyRequiredError naming the settings.
 */
import { assembleGateway } from './gateway.ts';
import type { Gateway, GatewayOptions } from './gateway-api.ts';
import { readOnlyKeys, type GatewaySecrets } from './keys.ts';
import type { RecordSource } from './source.ts';

export type ReadOnlyGateway = Pick<Gateway, 'policy' | 'status' | 'deadLetters' | 'health' | 'stop'> & {
  readonly audit: Pick<Gateway['audit'], 'list' | 'verify' | 'checkpoint'>;
};

export interface ReadOnlyGatewayOptions extends Omit<GatewayOptions, 'secrets' | 'source' | 'hooks'> {
  /** The audit keys, when the log is to be verified; never the pseudonym or digest key. */
  readonly secrets?: Omit<GatewaySecrets, 'pseudonymKey' | 'digestKey'>;
}

// Nothing a read-only gateway offers reads a master record.
const noSource: RecordSource = {
  get: () => Promise.reject(new Error('a read-only gateway reads no master record')),
  // eslint-disable-next-line require-yield
  scan: async function* () {
    throw new Error('a read-only gateway reads no master record');
  },
};

export async function openReadOnlyGateway(options: ReadOnlyGatewayOptions): Promise<ReadOnlyGateway> {
  const secrets = options.secrets ?? {};
  const gateway = await assembleGateway({ ...options, secrets, source: noSource }, readOnlyKeys(secrets));
  // Only what reads: an erase or a resync through this object is not even there to call.
  return {
    policy: gateway.policy,
    status: () => gateway.status(),
    deadLetters: (partner) => gateway.deadLetters(partner),
    health: () => gateway.health(),
    stop: () => gateway.stop(),
    audit: {
      list: (filter) => gateway.audit.list(filter),
      verify: (verifyOptions) => gateway.audit.verify(verifyOptions),
      checkpoint: () => gateway.audit.checkpoint(),
    },
  };
}
