import type { Logger } from 'pino';
import type { PartnerAdapter } from '../adapter.ts';
import type { Keys } from '../keys.ts';
import type { Trigger } from '../log/transfer-log.ts';
import type { Policy } from '../policy/index.ts';
import type { Database } from '../store/database.ts';
import type { QueueState } from '../schedule/subject-jobs.ts';
import type { Transfer } from '../transfer/transfer.ts';

/** What the host is told, and asked to do, about a subject's lifecycle. */
export interface LifecycleHooks {
  /** Erasure is due: anonymise the subject's camera data (it never left the company). */
  anonymiseCameraData?(subjectId: string): Promise<void>;
  /** Every partner confirmed the erasure. */
  erased?(subjectId: string): Promise<void>;
}

/** What the lifecycle needs from the gateway; built by createGateway. */
export interface LifecycleDeps {
  readonly db: Database;
  readonly policy: Policy;
  readonly keys: Keys;
  readonly adapters: ReadonlyMap<string, PartnerAdapter>;
  readonly hooks: LifecycleHooks;
  readonly now: () => Date;
  readonly logger: Logger;
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
  logEvent(event: {
    subjectId?: string;
    partner?: string;
    operation: string;
    trigger: Trigger;
    operator?: string;
    purpose?: string;
    legalBasis?: string;
  }): Promise<void>;
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
  /** confirmed: the partner confirmed; pending: a job is queued or retrying; failed: dead-lettered; nothing-held. */
  readonly state: 'confirmed' | 'pending' | 'failed' | 'nothing-held';
  readonly retainedAfterErasure: readonly string[];
}

export interface ErasureStatus {
  readonly subjectId: string;
  readonly dueAt: Date | null;
  readonly reason: string | null;
  readonly tombstoned: boolean;
  readonly complete: boolean;
  readonly completedAt: Date | null;
  readonly partners: readonly PartnerErasureState[];
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
  /** With { live: true }: what the partner itself returns now (personal data: for the subject only). */
  readonly live?:
    { readonly found: boolean; readonly fields: Readonly<Record<string, unknown>> } | { readonly error: string };
}

export interface AccessReport {
  readonly subjectId: string;
  readonly generatedAt: Date;
  readonly policyDigest: string;
  readonly restriction: { readonly restricted: boolean; readonly since: Date | null; readonly reason: string | null };
  readonly consent: readonly ConsentEntry[];
  readonly erasure: ErasureStatus | null;
  readonly partners: readonly AccessReportPartner[];
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
  access(subjectId: string, options?: { live?: boolean }): Promise<AccessReport>;
  /** Removes the gateway's own rows one retention period after the relationship ended. */
  purgeExpired(): Promise<PurgeResult>;
}

/** Called by the reconcile worker after a partner confirmed an erasure. */
export interface LifecycleInternals {
  onPartnerErased(subjectId: string, partner: string): Promise<void>;
}
