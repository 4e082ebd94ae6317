import type { RestrictionMode } from '../policy/index.ts';
import type { Logger } from 'pino';
import type { PartnerAdapter } from '../adapter.ts';
import type { Keys } from '../keys.ts';
import type { Slot, Trigger } from '../log/transfer-log.ts';
import type { Policy } from '../policy/index.ts';
import type { RecordSource } from '../source.ts';
import type { Database } from '../store/database.ts';
import type { QueueState } from '../schedule/subject-jobs.ts';
import type { Transfer } from '../transfer/transfer.ts';

/** What the host is told, and asked to do, about a subject's lifecycle. */
export interface LifecycleHooks {
  /** Erasure is due: anonymise the subject's camera data (it never left the company). */
  anonymiseCameraData?(subjectId: string): Promise<void>;
  /** Every partner confirmed the erasure. */
  erased?(subjectId: string): Promise<void>;
  /**
   * For access reports: what the company itself holds about the subject beyond the master record,
   * by policy category (camera data above all, which never reaches the gateway): e.g.
   * `{ camera_video: ['12 recordings, 2026-01-03 to 2026-03-01'] }`. Personal data: it goes into
   * the report and nowhere else.
   */
  companyHoldings?(subjectId: string): Promise<CompanyHoldings>;
}

/** Category name (of the policy's `held` list) -> what is held, in words the subject can read. */
export type CompanyHoldings = Readonly<Record<string, readonly string[]>>;

/** What the lifecycle needs from the gateway; built by createGateway. */
export interface LifecycleDeps {
  readonly db: Database;
  readonly policy: Policy;
  readonly keys: Keys;
  readonly adapters: ReadonlyMap<string, PartnerAdapter>;
  readonly hooks: LifecycleHooks;
  readonly now: () => Date;
  readonly logger: Logger;
  /**
   * The host's master records: the access report shows the subject what the company holds in them.
   * Optional so a gateway that does not pass it still builds; the report then says the record could
   * not be read.
   */
  readonly source?: RecordSource;
  /** Enqueue reconcile jobs for the subject (default: every partner with an adapter). */
  enqueueSubject(
    subjectId: string,
    trigger: Trigger,
    options?: { partners?: readonly string[]; operator?: string },
  ): Promise<void>;
  /** Per subject, the partners with a reconcile job waiting or running, and those with a dead letter. */
  subjectJobs(subjectIds: readonly string[]): Promise<Map<string, QueueState>>;
  /** The one outbound path (live fetches for access reports go through it). */
  readonly transfer: Transfer;
  logEvent(
    event: {
      subjectId?: string;
      partner?: string;
      operation: string;
      trigger: Trigger;
      operator?: string;
      purpose?: string;
      legalBasis?: string;
    },
    /** The row's seq and time, when the caller's own statement reserved them (RESERVED_SLOT). */
    slot?: Slot,
  ): Promise<void>;
}

export interface ActorOptions {
  /** Who did it: the operator's name for CLI actions, the service for API calls. Logged. */
  readonly operator?: string;
}

export interface ConsentEntry {
  readonly id: string;
  readonly subjectId: string;
  readonly purpose: string;
  readonly status: 'granted' | 'withdrawn';
  /** Where the consent or withdrawal came from: 'web-form', 'written-notice', 'support-ticket'... */
  readonly source: string;
  /** A reference to the evidence (a document id, a ticket number): never the document itself. */
  readonly evidence: string | null;
  readonly operator: string | null;
  readonly at: Date;
}

export interface ConsentInput extends ActorOptions {
  readonly source: string;
  readonly evidence?: string;
}

export interface PartnerErasureState {
  readonly partner: string;
  /**
   * confirmed: the partner confirmed; pending: a job is queued, retrying or due; failed: dead-lettered;
   * nothing-held; unknown: a call's outcome is unknown and the partner cannot be searched for what it
   * may have left, so an operator must look and resolve it (resolveErasure); conflict: a record there
   * is claimed by another live subject too (one email, two customers), so it was not erased and an
   * operator must settle whose it is; no-adapter: a partner of the policy this gateway has no adapter
   * for, so it cannot erase there itself; erased-manually: an operator recorded erasing it there by hand.
   */
  readonly state:
    'confirmed' | 'pending' | 'failed' | 'nothing-held' | 'unknown' | 'conflict' | 'no-adapter' | 'erased-manually';
  /** Since when a call's outcome at this partner is unknown (the partner may hold what we never learned). */
  readonly uncertainSince: Date | null;
  /** Since when a record there is withheld from the erasure because another live subject claims it. */
  readonly conflictSince: Date | null;
  readonly retainedAfterErasure: readonly string[];
}

/** What an incomplete erasure still lacks, one entry per missing thing. */
export type ErasureGapKind = 'partner' | 'unknown-outcome' | 'hook' | 'no-adapter' | 'conflict';

export interface ErasureGap {
  readonly kind: ErasureGapKind;
  /** The partner it is missing at (every kind but 'hook'). */
  readonly partner?: string;
  /** The host hook still owed ('hook'). */
  readonly hook?: string;
  /** Since when it is missing: the erasure's start, or the first failure of the hook. */
  readonly since: Date;
  /** In words for operators, never a personal value: 'dead letter', 'failed 3 times, next attempt ...'. */
  readonly detail: string;
}

export interface ErasureStatus {
  readonly subjectId: string;
  readonly dueAt: Date | null;
  readonly reason: string | null;
  readonly tombstoned: boolean;
  readonly complete: boolean;
  readonly completedAt: Date | null;
  readonly partners: readonly PartnerErasureState[];
  /**
   * Once the erasure is due: everything that keeps it from being complete (empty when complete).
   * "Complete" means every partner of the policy confirmed, held nothing or was erased by hand, and
   * the host's camera hook succeeded.
   */
  readonly missing: readonly ErasureGap[];
}

export interface AccessReportPartner {
  readonly partner: string;
  readonly displayName: string;
  readonly purpose: string;
  readonly legalBasis: string;
  /** Category names the policy says the gateway sends / the partner collects directly. */
  readonly sentByUs: readonly string[];
  readonly collectedDirectly: readonly string[];
  readonly holds: boolean;
  readonly lastSentAt: Date | null;
  readonly lastSentFields: readonly string[];
  readonly transfers: readonly {
    at: Date;
    operation: string;
    trigger: string;
    outcome: string | null;
    fields: readonly string[];
  }[];
  readonly retainedAfterErasure: readonly string[];
  /**
   * The partner's own ids for records we know it keeps of what it collects directly (balena device
   * ids named by the host's record or learned before): why `holds` can be true for a partner the
   * gateway sends nothing.
   */
  readonly collectsFor: readonly string[];
  /** With { live: true }: what the partner itself returns now (personal data: for the subject only). */
  readonly live?: LiveHoldings | { readonly error: string };
  /**
   * The partner has a record another live subject claims as well (a partner keyed by an email two
   * customers share): it is not fetched or erased as this subject's until an operator settles it.
   */
  readonly sharedRecord?: boolean;
  /**
   * What a restriction does at the partner (the policy's behaviour), and what was carried out there
   * for the subject's current restriction (null: nothing, or none is in force).
   */
  readonly restriction: {
    readonly behaviour: RestrictionMode;
    readonly applied: RestrictionMode | null;
  };
}

export interface LiveHoldings {
  readonly found: boolean;
  readonly fields: Readonly<Record<string, unknown>>;
  /**
   * Every personal field the partner returned, as a dotted path with its value in words, and the
   * policy category it is (null: the policy does not cover it, which the report flags).
   */
  readonly items: readonly LiveItem[];
}

export interface LiveItem {
  readonly path: string;
  readonly value: string;
  readonly category: string | null;
  /** The category is not one the policy lets this partner have (sent or collected). */
  readonly outsidePolicy: boolean;
}

/** What the company itself holds, for the access report's first section. */
export interface CompanyHoldingsReport {
  /** The master record's personal fields, as dotted paths with their values, by category. */
  readonly record:
    | { readonly found: true; readonly fields: readonly { path: string; category: string | null; value: string }[] }
    | { readonly found: false }
    | { readonly error: string };
  /** From the host's companyHoldings hook, by category (camera data...). */
  readonly other: Readonly<Record<string, readonly string[]>> | { readonly error: string } | null;
}

export interface AccessReport {
  readonly subjectId: string;
  readonly generatedAt: Date;
  readonly policyDigest: string;
  readonly restriction: { readonly restricted: boolean; readonly since: Date | null; readonly reason: string | null };
  readonly consent: readonly ConsentEntry[];
  readonly erasure: ErasureStatus | null;
  /** The source stopped returning the master record: since when, and when erasure follows unless it returns. */
  readonly recordMissing?: { readonly since: Date; readonly erasureAfter: Date } | null;
  readonly company: CompanyHoldingsReport;
  readonly partners: readonly AccessReportPartner[];
  /** Every request of the subject in the register, and the one this report answers (if given). */
  readonly requests: readonly SubjectRequest[];
  readonly answersRequest: SubjectRequest | null;
}

export const requestKinds = ['access', 'rectification', 'restriction', 'erasure', 'objection'] as const;
export type RequestKind = (typeof requestKinds)[number];
export const requestOutcomes = ['fulfilled', 'partly-fulfilled', 'refused', 'withdrawn'] as const;
export type RequestOutcome = (typeof requestOutcomes)[number];

/** A data subject's request in the register (GDPR Art. 12): received, verified, due, answered. */
export interface SubjectRequest {
  readonly id: string;
  readonly subjectId: string;
  readonly kind: RequestKind;
  readonly receivedAt: Date;
  /** How it arrived: 'letter', 'email', 'web-form', 'phone'... */
  readonly channel: string;
  /** A reference to the request itself (a letter's number, a ticket): never its content. */
  readonly reference: string | null;
  readonly verifiedAt: Date | null;
  /** How the requester's identity was verified: 'signed-letter', 'bankid', 'id-document'... */
  readonly verification: string | null;
  readonly verificationReference: string | null;
  /** One month after receipt (Art. 12(3)); `dueAt` is the extended date when there is one. */
  readonly originalDueAt: Date;
  readonly extendedTo: Date | null;
  readonly extensionReason: string | null;
  readonly dueAt: Date;
  readonly answeredAt: Date | null;
  /** How the answer went out: 'letter', 'email', 'secure-message'... */
  readonly answerChannel: string | null;
  readonly answerReference: string | null;
  readonly outcome: RequestOutcome | null;
  readonly operator: string | null;
  /** At the time it was read: answered, or open and past its due date (overdue), or open. */
  readonly state: 'open' | 'overdue' | 'answered';
}

export interface ReceiveRequestInput extends ActorOptions {
  readonly kind: RequestKind;
  readonly channel: string;
  /** Default: now. Never in the future. */
  readonly receivedAt?: Date;
  readonly reference?: string;
}

export interface RequestRegister {
  receive(subjectId: string, input: ReceiveRequestInput): Promise<SubjectRequest>;
  verify(
    requestId: string,
    input: { readonly method: string; readonly reference?: string; readonly at?: Date } & ActorOptions,
  ): Promise<SubjectRequest>;
  /** Art. 12(3): only within the first month, by at most the policy's maxExtensionMonths in all. */
  extend(
    requestId: string,
    input: { readonly months: number; readonly reason: string } & ActorOptions,
  ): Promise<SubjectRequest>;
  answer(
    requestId: string,
    input: {
      readonly channel: string;
      readonly outcome?: RequestOutcome;
      readonly reference?: string;
      readonly at?: Date;
    } & ActorOptions,
  ): Promise<SubjectRequest>;
  get(requestId: string): Promise<SubjectRequest>;
  /** Overdue first (most overdue first), then open by due date, then answered (latest first). */
  list(filter?: {
    readonly subjectId?: string;
    readonly open?: boolean;
    readonly kind?: RequestKind;
  }): Promise<SubjectRequest[]>;
  /** Open requests past their due date, most overdue first: what `status` shows first. */
  overdue(): Promise<SubjectRequest[]>;
  /** Counts for `status`. */
  summary(): Promise<RequestSummary>;
  /** Removes answered requests of subjects the retention purge removed, one retention period after the answer. */
  purgeExpired(): Promise<number>;
}

export interface RequestSummary {
  readonly open: number;
  readonly overdue: number;
  /** Open and not yet verified. */
  readonly unverified: number;
  /** Open and due within the next 7 days. */
  readonly dueSoon: number;
  readonly oldestOverdueDueAt: Date | null;
}

export interface PurgeResult {
  readonly subjects: number;
  readonly logRowsPurged: number;
  readonly ledgerRowsPurged: number;
  readonly tombstonesPurged: number;
}

/** The data-subject lifecycle API a gateway offers (issue 4). */
export interface Lifecycle {
  readonly consent: {
    grant(subjectId: string, purpose: string, input: ConsentInput): Promise<ConsentEntry>;
    withdraw(subjectId: string, purpose: string, input: ConsentInput): Promise<ConsentEntry>;
    history(subjectId: string): Promise<ConsentEntry[]>;
  };
  restrict(subjectId: string, reason: string, options?: ActorOptions): Promise<void>;
  unrestrict(subjectId: string, options?: ActorOptions): Promise<void>;
  /** An erasure request: due now. */
  erase(subjectId: string, options: { reason: string } & ActorOptions): Promise<ErasureStatus>;
  erasureStatus(subjectId: string): Promise<ErasureStatus>;
  /** Subjects whose erasure is due or overdue and not complete. */
  pendingErasures(): Promise<ErasureStatus[]>;
  /** Tombstones subjects whose erasure fell due and enqueues their erasure everywhere. */
  processDueErasures(): Promise<number>;
  /**
   * An operator settles what the gateway cannot at a partner: an unknown outcome (state 'unknown') or
   * a record another live subject claims too (state 'conflict'). They looked and found nothing of the
   * subject ('none-found'), deleted what they found by hand ('deleted-manually'), or found that what
   * is left is the other subject's alone ('kept-for-other-subject'). Logged with the operator; the
   * erasure then completes if nothing else is left.
   */
  resolveErasure(
    subjectId: string,
    partner: string,
    options: { resolution: ErasureResolution } & ActorOptions,
  ): Promise<ErasureStatus>;
  /**
   * An operator erased the subject by hand at a partner of the policy this gateway has no adapter
   * for: logged with the operator; the erasure can then complete there.
   */
  recordManualErasure(
    subjectId: string,
    partner: string,
    options: { readonly operator: string; readonly reason: string },
  ): Promise<ErasureStatus>;
  /** `requestId`: the register's access request this report answers (shown in the report). */
  access(subjectId: string, options?: { live?: boolean; requestId?: string }): Promise<AccessReport>;
  /** The register of data subjects' requests (access, rectification, restriction, erasure, objection). */
  readonly requests: RequestRegister;
  /** Removes the gateway's own rows one retention period after the relationship ended. */
  purgeExpired(): Promise<PurgeResult>;
}

export const erasureResolutions = ['none-found', 'deleted-manually', 'kept-for-other-subject'] as const;
export type ErasureResolution = (typeof erasureResolutions)[number];

/** Called by the reconcile worker after a partner confirmed an erasure. */
export interface LifecycleInternals {
  onPartnerErased(subjectId: string, partner: string): Promise<void>;
}
