import { pino, type Logger } from 'pino';
import type { PartnerAdapter } from '../adapter.ts';
import { checkAdapters } from '../adapters-check.ts';
import type { GatewayOptions } from '../gateway-api.ts';
import { auditKeySource } from '../keys.ts';
import { DEFAULT_MISSING_RECORD_GRACE_DAYS } from '../missing-records.ts';
import { resolvePolicy, withFormerPartners, type Policy } from '../policy/index.ts';
import { DEFAULT_DELETION_LIMIT, type DeletionLimit } from '../resync.ts';
import { defaultRetryPolicy, type RetryPolicy } from '../schedule/boss.ts';

/** What a gateway is built with, checked before anything opens the store. */
export interface GatewaySettings {
  readonly logger: Logger;
  readonly now: () => Date;
  /** The policy as the host gave it (what `gateway.policy` shows). */
  readonly resolvedPolicy: Policy;
  /** What workers, transfer and the lifecycle plan with: the policy, and a stand-in for each former partner. */
  readonly policy: Policy;
  readonly adapters: ReadonlyMap<string, PartnerAdapter>;
  /** Every partner with an adapter, former ones included. */
  readonly partners: readonly string[];
  /** Partners with an adapter that the policy no longer names (offboard() erases what they hold). */
  readonly former: readonly string[];
  /** Partners a record change is sent to: in the policy, mode sync. */
  readonly synced: readonly string[];
  readonly retry: RetryPolicy;
  readonly graceDays: number;
  readonly deletionLimit: DeletionLimit;
}

export function gatewaySettings(
  options: Omit<GatewayOptions, 'secrets'> & { readonly secrets: Partial<GatewayOptions['secrets']> },
): GatewaySettings {
  const resolvedPolicy = resolvePolicy(options.policy);
  const logger =
    options.logger ?? pino({ name: 'partner-gateway', level: process.env.PARTNER_GATEWAY_LOG_LEVEL ?? 'info' });
  warnOnDerivedAuditKey(options.secrets, logger);
  const graceDays = options.missingRecordGraceDays ?? DEFAULT_MISSING_RECORD_GRACE_DAYS;
  if (!(Number.isFinite(graceDays) && graceDays >= 0)) throw new Error('missingRecordGraceDays must be a number >= 0');
  const { adapters, partners, former } = checkAdapters(resolvedPolicy, options.adapters);
  if (former.length > 0)
    logger.warn(
      { partners: former },
      'adapters given for partners the policy no longer names: nothing is sent to them; offboard() erases what they hold',
    );
  const policy = withFormerPartners(resolvedPolicy, former);
  return {
    logger,
    now: options.now ?? (() => new Date()),
    resolvedPolicy,
    policy,
    adapters,
    partners,
    former,
    // Former partners are not among them: a record change sends them nothing (offboard() erases there).
    synced: partners.filter((p) => !former.includes(p) && policy.partner(p).mode === 'sync'),
    retry: { ...defaultRetryPolicy, ...options.retry },
    graceDays,
    deletionLimit: { ...DEFAULT_DELETION_LIMIT, ...options.resyncDeletionLimit },
  };
}

/**
 * A derived audit key is as secret as the pseudonym key, so a database writer still cannot forge the
 * log; but whoever verifies it then holds the key to every pseudonym. Production should not.
 */
function warnOnDerivedAuditKey(secrets: Partial<GatewayOptions['secrets']>, logger: Logger): void {
  const { pseudonymKey } = secrets;
  if (
    pseudonymKey &&
    auditKeySource({ ...secrets, pseudonymKey }) === 'derived' &&
    process.env.NODE_ENV === 'production'
  )
    logger.warn(
      'the audit key is derived from the pseudonym key: set PARTNER_GATEWAY_AUDIT_KEY (or secrets.auditKey) so verifying the transfer log does not need the pseudonym key',
    );
}
