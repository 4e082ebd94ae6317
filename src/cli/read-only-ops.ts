/**
 * The read-only commands' side when PARTNER_GATEWAY_PSEUDONYM_KEY is not set: status, dead letters
 * and the transfer log from the store, through a gateway that holds no pseudonym key. Anything else
 * names the setting it lacks (no command that reaches here calls it; this is the guard if one did).
 */
import type { ReadOnlyGateway } from '../read-only-gateway.ts';
import { CliError } from './errors.ts';
import { checkPartnerNames, type OpsClient } from './ops-client.ts';

export function readOnlyOps(gateway: ReadOnlyGateway): OpsClient {
  const refuse = (): never => {
    throw new CliError(
      'PARTNER_GATEWAY_PSEUDONYM_KEY is not set: this needs it (at least 16 characters); only status, dead-letters list and audit run without it',
    );
  };
  return {
    remote: false,
    status: () => gateway.status(),
    deadLetters: (partner) => gateway.deadLetters(partner),
    auditList: (filter) => gateway.audit.list(filter),
    auditVerify: (options) => gateway.audit.verify(options),
    auditCheckpoint: () => gateway.audit.checkpoint(),
    checkPartners: (partners) => checkPartnerNames(gateway.policy, partners, gateway.status()),
    checkConsentPurpose: refuse,
    sourceKnows: refuse,
    redrive: refuse,
    erase: refuse,
    erasureStatus: refuse,
    restrict: refuse,
    unrestrict: refuse,
    consent: refuse,
    accessText: refuse,
    resync: refuse,
    workOff: refuse,
    drift: refuse,
  };
}
