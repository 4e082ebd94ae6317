/**
 * What the gateway reports while it runs, for metrics and dashboards (the ops server's /metrics).
 * Every field is a partner name, an operation, an outcome, a number or a partner's error code that
 * passed safeErrorCode: never a subject id or a personal value, so any of them may be a metric label.
 */
export interface CallObservation {
  readonly partner: string;
  /** upsert, upsert_batch, erase, suppress, fetch, lookup, action:<name>. */
  readonly operation: string;
  readonly outcome: 'ok' | 'failed' | 'unknown';
  /** Subjects the call carried (a batch call carries many). */
  readonly subjects: number;
  readonly durationMs: number;
  readonly httpStatus?: number | undefined;
  readonly errorCode?: string | undefined;
}

export interface GatewayObserver {
  /** One partner call settled (its outcome rows are committed). */
  callSettled?(observation: CallObservation): void;
  /** A partner asked to slow down (429 or 503 with Retry-After): no worker calls it before `ms` from now. */
  paused?(partner: string, ms: number): void;
  /**
   * A job settled: completed, failed (retried later) or deadletter (failed for good, or failed on
   * its last attempt: either way now a dead letter an operator must look at).
   */
  jobSettled?(partner: string, status: 'completed' | 'failed' | 'deadletter'): void;
}
