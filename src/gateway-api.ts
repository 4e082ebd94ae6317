import type { Logger } from 'pino';
import type { PartnerAdapter } from './adapter.ts';
import type { DriftOptions, DriftReport } from './drift.ts';
import type { RotationOptions, RotationReport } from './rotation/rotate.ts';
import type { GatewaySecrets } from './keys.ts';
import type { ErasureGap, Lifecycle, LifecycleHooks, RequestSummary } from './lifecycle/types.ts';
import type { VerifyResult } from './log/chain.ts';
import type { Checkpoint, LocatedCheckpoint } from './log/checkpoint.ts';
import type { TransferFilter, TransferRow } from './log/query.ts';
import type { GatewayObserver } from './observe.ts';
import type { Policy, PolicyDocument } from './policy/index.ts';
import type { MissingRecord } from './missing-records.ts';
import type { OffboardingStatus, OffboardSummary } from './offboard.ts';
import type { DeletionLimit, ResyncOptions, ResyncSummary } from './resync.ts';
import type { EnqueueOptions, RetryPolicy } from './schedule/boss.ts';
import type { RecordSource } from './source.ts';
import type { Database, DatabaseOptions } from './store/database.ts';
import type { PartnerLimits } from './transfer/rate-limit.ts';

/** What createGateway() takes and returns: the public API the README documents. */
export interface GatewayOptions {
  /** A path to a policy YAML file, a parsed document, or a loaded Policy. Default: config/policy.yaml. */
  readonly policy?: string | Policy | PolicyDocument;
  /** Default: PARTNER_GATEWAY_DATABASE_URL, else embedded PGlite in ./.partner-gateway. */
  readonly database?: DatabaseOptions | Database;
  /** One adapter per partner; a partner without one is left alone. */
  readonly adapters: readonly PartnerAdapter[];
  readonly source: RecordSource;
  /** How long one source.get/getMany may take before its subjects are retried later. Default 30 s. */
  readonly sourceTimeoutMs?: number;
  readonly secrets: GatewaySecrets;
  /** Per-partner limits; default: what each adapter declares (the partner's documented limits). */
  readonly limits?: Readonly<Record<string, PartnerLimits>>;
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Jobs a worker takes per fetch. Default: 100, or the adapter's largest batch call where it has one
   * (Mailchimp: 500), so a resync fills whole batch calls.
   */
  readonly batchSize?: number;
  readonly logger?: Logger;
  /** The host's part in erasure: anonymise camera data, hear that a subject is erased. */
  readonly hooks?: LifecycleHooks;
  /** Injectable clock (tests). */
  readonly now?: () => Date;
  /** Hears every partner call, pause and job outcome (metrics). */
  readonly observer?: GatewayObserver;
  /**
   * Days a subject's record may be missing from the source (source.get -> null) before the subject
   * is erased everywhere, after one more read that still finds nothing. Default 30.
   */
  readonly missingRecordGraceDays?: number;
  /** A resync that would delete more deletes nothing without allowMassDeletion. Default { count: 100, share: 0.1 }. */
  readonly resyncDeletionLimit?: Partial<DeletionLimit>;
  /**
   * Open the store for a pseudonym key rotation (rotatePseudonymKey): the new key as
   * secrets.pseudonymKey, the store's key among secrets.previousPseudonymKeys. Such a gateway runs
   * no workers; while a rotation is in progress no other gateway opens the store.
   */
  readonly keyRotation?: boolean;
}

export interface Gateway extends Lifecycle {
  readonly policy: Policy;
  readonly database: Database;
  /** The master record of a subject changed (or may have): bring every partner in step. */
  changed(subjectId: string, options?: EnqueueOptions & { operator?: string }): Promise<void>;
  resync(options?: ResyncOptions): Promise<ResyncSummary>;
  /**
   * Erases everything a partner the policy no longer names holds (its adapter must still be given):
   * one logged erase job per subject the gateway knows it may hold. Returns the progress before the
   * jobs run; offboarding() and status() show it afterwards.
   */
  offboard(partner: string, options?: { operator?: string; dryRun?: boolean }): Promise<OffboardSummary>;
  /** Progress of offboarding, per partner the store knows of that the policy no longer names. */
  offboarding(partner?: string): Promise<OffboardingStatus[]>;
  /**
   * Compares what partners hold (their fetch) with what the gateway believes, for the subjects given
   * or a random sample; with `repair`, re-creates at the partner what it lost (forced reconciles).
   */
  drift(options?: DriftOptions): Promise<DriftReport>;
  /**
   * Moves every partner that knows subjects by their pseudonym onto the new key's pseudonyms, and
   * puts the store on the new key once nothing is left under the old (README, "Key rotation").
   * Resumable: a run after a crash or a failure goes on where the last stopped. Only on a gateway
   * opened with keyRotation.
   */
  rotatePseudonymKey(options?: RotationOptions): Promise<RotationReport>;
  /** Whether the subject's record is missing from the source, since when, and when erasure may follow. */
  recordMissing(subjectId: string): Promise<MissingRecord | null>;
  /**
   * A one-off action at an action partner, now (Twilio: `call(id, 'alarm', { twiml })`). Refused for
   * an erased or restricted subject. Returns the partner's id for what it created (the call sid).
   */
  call(
    subjectId: string,
    action: string,
    params: Readonly<Record<string, unknown>>,
    options?: { partner?: string; operator?: string },
  ): Promise<{ partnerId: string; correlationId: string }>;
  /**
   * Starts workers for every partner queue in this process (until stop()), the background sealing of
   * the transfer log, and the check for erasures that fell due (every `dueErasureCheckSeconds`, 60).
   */
  work(options?: { pollingIntervalSeconds?: number; dueErasureCheckSeconds?: number }): Promise<void>;
  /**
   * Works until no job is ready, for tests, the CLI and one-shot runs. Retries waiting out their
   * backoff are left for later unless `waitForRetries` (then it returns when the queues are empty).
   */
  runUntilIdle(options?: { timeoutMs?: number; waitForRetries?: boolean }): Promise<void>;
  deadLetters(partner?: string): Promise<DeadLetter[]>;
  /** Queue depth, in-flight, failures and dead letters per partner; erasures pending and overdue. */
  status(): Promise<GatewayStatus>;
  /** Puts dead letters back on their partner queue (all of a partner's, or the ids given). */
  redrive(partner: string, ids?: readonly string[], options?: { operator?: string }): Promise<number>;
  readonly audit: {
    /**
     * Seals, then checks the whole log with the audit key: every row's writer tag, the chain, the
     * signed head, retention's purge signatures; with `against`, also the checkpoints exported
     * before (parseCheckpoints), which catch a wipe, a cut tail or a recomputed chain.
     */
    verify(options?: { against?: readonly LocatedCheckpoint[] }): Promise<VerifyResult>;
    /**
     * Seals, then the signed chain head to keep outside the database (checkpointLine gives its JSON
     * line). Throws a CheckpointError rather than vouch for a head that does not verify.
     */
    checkpoint(): Promise<Checkpoint>;
    list(filter?: TransferFilter): Promise<TransferRow[]>;
    /** Seals every unsealed row now (workers also seal in the background). */
    seal(): Promise<number>;
  };
  /** For readiness probes: the database answers, its migrations are current, workers run in this process. */
  health(): Promise<GatewayHealth>;
  stop(): Promise<void>;
}

export interface GatewayHealth {
  readonly database: boolean;
  readonly migrations: { readonly applied: number; readonly expected: number };
  /** Partners whose worker runs in this process (empty before work()). */
  readonly working: readonly string[];
  readonly stopped: boolean;
}

export interface PartnerStatus {
  readonly partner: string;
  /** Ready to run now. */
  readonly queued: number;
  /** Waiting for a retry (backoff) or a later start. */
  readonly retrying: number;
  readonly active: number;
  readonly deadLetters: number;
  /** Seconds the oldest job ready to run has waited (0 when none waits): how far the workers lag behind. */
  readonly lagSeconds: number;
  /** Calls that failed in the last 24 hours. */
  readonly failedCalls24h: number;
}

export interface GatewayStatus {
  readonly partners: readonly PartnerStatus[];
  readonly erasures: {
    readonly pending: number;
    readonly overdue: number;
    /** Incomplete erasures with what each still lacks, the longest-missing first (at most 100). */
    readonly incomplete: readonly IncompleteErasure[];
  };
  readonly log: { readonly unsealed: number };
  /** Data-subject requests: open, overdue (past their one-month due date), unverified, due soon. */
  readonly requests: RequestSummary;
  /** Subjects whose record the source no longer returns, oldest first (at most 100 listed). */
  readonly missingRecords: { readonly count: number; readonly oldest: readonly MissingRecord[] };
  readonly policy: {
    /** The digest of the policy this gateway runs (each transfer log row records the one it used). */
    readonly digest: string;
    /**
     * Per synced partner, subjects it holds that are not known to be in step with this policy: last
     * sent under another policy digest and not yet re-planned (a resync sends or confirms them).
     */
    readonly notInStep: readonly { readonly partner: string; readonly subjects: number }[];
  };
  /** Partners the policy no longer names that may still hold something (see offboard()). */
  readonly offboarding: readonly OffboardingStatus[];
  /**
   * Restrictions (GDPR Art. 18/19): subjects restricted, and partner records whose restriction
   * behaviour is still to be carried out (told) or undone (lifted). Both 0: every partner is in step.
   */
  readonly restrictions?: { readonly restricted: number; readonly toTell: number; readonly toLift: number };
}

export interface IncompleteErasure {
  readonly subjectId: string;
  readonly dueAt: Date | null;
  /** Due more than a day ago and still incomplete. */
  readonly overdue: boolean;
  readonly missing: readonly ErasureGap[];
}

export interface DeadLetter {
  readonly id: string;
  readonly partner: string;
  readonly subjectId: string;
  readonly trigger: string;
  readonly createdOn: Date | null;
  readonly error: string | null;
}
