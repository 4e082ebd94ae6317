import type { Trigger } from '../log/transfer-log.ts';

/** A reconcile job carries no personal data: only who, where and why. */
export interface ReconcileJobData {
  readonly subjectId: string;
  readonly trigger: Trigger;
  readonly correlationId: string;
  readonly operator?: string;
  /** Send even when the digest says the partner is in step (resync --force). */
  readonly force?: boolean;
}

export type JobResult =
  | { readonly status: 'completed'; readonly action: string }
  | { readonly status: 'failed'; readonly error: string }
  | { readonly status: 'deadletter'; readonly error: string };

export const reconcileQueue = (partner: string) => `partner-gateway.reconcile.${partner}`;
export const deadLetterQueue = (partner: string) => `partner-gateway.dead.${partner}`;
