/**
 * What the operator commands need, from either side: the gateway opened in this process on the store,
 * or a running ops server (`--server URL`) when the store is held by a worker or the host service.
 * The commands are written once against this interface.
 */
import type {
  ConsentEntry,
  ConsentInput,
  DeadLetter,
  DriftOptions,
  DriftReport,
  ErasureStatus,
  Gateway,
  GatewayStatus,
  ResyncOptions,
  ResyncSummary,
  TransferFilter,
  TransferRow,
  VerifyResult,
} from '../index.ts';
import type { Checkpoint, LocatedCheckpoint } from '../log/checkpoint.ts';
import type { Policy } from '../policy/index.ts';
import type { RecordSource } from '../source.ts';
import { checkConsentPurpose } from './args.ts';
import { usageError } from './errors.ts';

export interface AccessTextOptions {
  readonly format: 'json' | 'md' | 'html';
  readonly lang: 'sv' | 'en';
  readonly live: boolean;
}

export interface OpsClient {
  /** True when the commands talk to an ops server. */
  readonly remote: boolean;
  status(): Promise<GatewayStatus>;
  deadLetters(partner?: string): Promise<DeadLetter[]>;
  redrive(partner: string, ids: readonly string[] | undefined, operator: string): Promise<number>;
  erase(subjectId: string, reason: string, operator: string): Promise<ErasureStatus>;
  /**
   * Whether the host's record source has a record for the subject: false when it answers null,
   * undefined when that cannot be told (through --server, or the source failed).
   */
  sourceKnows(subjectId: string): Promise<boolean | undefined>;
  erasureStatus(subjectId: string): Promise<ErasureStatus>;
  restrict(subjectId: string, reason: string, operator: string): Promise<void>;
  unrestrict(subjectId: string, operator: string): Promise<void>;
  consent(verb: 'grant' | 'withdraw', subjectId: string, purpose: string, input: ConsentInput): Promise<ConsentEntry>;
  accessText(subjectId: string, options: AccessTextOptions): Promise<string>;
  resync(options: ResyncOptions): Promise<ResyncSummary>;
  /** Drift detection (and repair), with the operator of this process or, through --server, the token's. */
  drift(options: DriftOptions): Promise<DriftReport>;
  auditList(filter: TransferFilter): Promise<TransferRow[]>;
  /** Verify with the audit key of whoever holds the store (this process, or the server). */
  auditVerify(options?: { against?: readonly LocatedCheckpoint[] }): Promise<VerifyResult>;
  auditCheckpoint(): Promise<Checkpoint>;
  /**
   * Waits until the queues have nothing ready or running (and nothing retrying with waitForRetries).
   * In this process the workers run until then; a server's workers are watched through its status.
   * Throws a QueuesNotIdle on timeout.
   */
  workOff(options: { timeoutMs: number; waitForRetries: boolean }): Promise<void>;
  /** Usage errors for partners this gateway does not work with. */
  checkPartners(partners: readonly string[] | undefined): Promise<void>;
  checkConsentPurpose(purpose: string): void;
}

export class QueuesNotIdle extends Error {
  override readonly name = 'QueuesNotIdle';
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`queues not idle after ${Math.round(timeoutMs / 1_000)} s`);
    this.timeoutMs = timeoutMs;
  }
}

/** The gateway in this process (and the config's record source, to check a subject id against). */
export function localOps(gateway: Gateway, source?: Pick<RecordSource, 'get'>): OpsClient {
  return {
    remote: false,
    sourceKnows: async (subjectId) => {
      if (!source) return undefined;
      try {
        return (await source.get(subjectId)) != null;
      } catch {
        return undefined;
      }
    },
    status: () => gateway.status(),
    deadLetters: (partner) => gateway.deadLetters(partner),
    redrive: (partner, ids, operator) => gateway.redrive(partner, ids, { operator }),
    erase: (subjectId, reason, operator) => gateway.erase(subjectId, { reason, operator }),
    erasureStatus: (subjectId) => gateway.erasureStatus(subjectId),
    restrict: (subjectId, reason, operator) => gateway.restrict(subjectId, reason, { operator }),
    unrestrict: (subjectId, operator) => gateway.unrestrict(subjectId, { operator }),
    consent: (verb, subjectId, purpose, input) =>
      verb === 'grant'
        ? gateway.consent.grant(subjectId, purpose, input)
        : gateway.consent.withdraw(subjectId, purpose, input),
    accessText: async (subjectId, options) => {
      const report = await gateway.access(subjectId, { live: options.live });
      const { renderAccessReport } = await import('../index.ts');
      return renderAccessReport(report, gateway.policy, { format: options.format, lang: options.lang });
    },
    resync: (options) => gateway.resync(options),
    drift: (options) => gateway.drift(options),
    auditList: (filter) => gateway.audit.list(filter),
    auditVerify: (options) => gateway.audit.verify(options),
    auditCheckpoint: () => gateway.audit.checkpoint(),
    workOff: async (options) => {
      try {
        await gateway.runUntilIdle(options);
      } catch (error) {
        if (error instanceof Error && /not idle/.test(error.message)) throw new QueuesNotIdle(options.timeoutMs);
        throw error;
      }
    },
    checkPartners: (partners) => checkPartnerNames(gateway.policy, partners, gateway.status()),
    checkConsentPurpose: (purpose) => checkConsentPurpose(gateway.policy, purpose),
  };
}

/** The partners this gateway works with (those it has adapters for); anything else is a usage error. */
export async function checkPartnerNames(
  policy: Pick<Policy, 'partnerNames'> | undefined,
  partners: readonly string[] | undefined,
  status: Promise<GatewayStatus>,
): Promise<void> {
  if (!partners || partners.length === 0) return;
  const known = (await status).partners.map((p) => p.partner);
  for (const partner of partners) {
    if (!known.includes(partner)) {
      throw usageError(
        policy?.partnerNames.includes(partner)
          ? `partner '${partner}' is not enabled here (enabled: ${known.join(', ') || 'none'})`
          : `unknown partner '${partner}': expected one of ${known.join(', ') || 'none'}`,
      );
    }
  }
}
