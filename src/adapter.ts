/**
 * The adapter contract: everything an adapter may know about the gateway. Adapters import this file
 * (and nothing else from src/). An adapter receives only the minimised payload for its partner, the
 * partner's own ids for the subject and a per-partner pseudonym; it never sees the master record.
 */
import type { Address } from './record.ts';

/**
 * The minimised payload: only the fields the policy allows this partner, never anything else.
 * Every field is optional because the policy decides which are present, not the adapter.
 */
export interface PartnerPayload {
  readonly name?: { readonly given: string; readonly family: string };
  readonly address?: Readonly<Address>;
  readonly phone?: string;
  readonly email?: string;
}

/** Who the call is about, as the partner may know it. */
export interface SubjectRef {
  /** HMAC(secret, partner, subject id): stands in for the internal customer id at this partner. */
  readonly pseudonym: string;
  /**
   * The partner's own ids for the subject: what earlier calls returned (a Stripe `cus_` id, a
   * Mailchimp subscriber hash, Twilio call sids) and what the host's master record carries for this
   * partner (an Auth0 user id, balena device ids). Empty when the partner knows nothing yet.
   */
  readonly partnerIds: readonly string[];
}

export interface CallContext {
  /** Carried into every log line and, where the partner supports it, a request header. */
  readonly correlationId: string;
  /**
   * Deterministic for (subject, partner, operation, payload digest): a retried job sends the same
   * key, so a partner that supports idempotency keys (Stripe) does the work once.
   */
  readonly idempotencyKey: string;
  readonly signal?: AbortSignal;
}

export interface UpsertInput {
  readonly payload: PartnerPayload;
  readonly ref: SubjectRef;
  /**
   * Set only when the consent ledger holds a grant that this partner has not yet been told about.
   * Absent on every other upsert: an adapter never writes a subscription status on its own.
   */
  readonly subscription?: 'subscribed';
  /**
   * Fields (dotted paths, e.g. 'phone', 'address.street') the partner was sent before and is still
   * allowed, but that the master record no longer has. An adapter whose API updates partially must
   * clear them at the partner; one whose API replaces the whole record may ignore this.
   */
  readonly cleared?: readonly string[];
}

export interface UpsertResult {
  /** The partner's id for the subject, kept in the link so later calls need no lookup. */
  readonly partnerId: string;
  readonly created: boolean;
}

export type EraseMode = 'delete' | 'archive';

export interface EraseResult {
  /** The partner ids that were removed (or found already gone). */
  readonly removed: readonly string[];
}

export interface SuppressResult {
  readonly partnerId: string;
}

export interface ActionInput {
  /** The action's name as the host calls it, e.g. 'alarm'. */
  readonly action: string;
  readonly payload: PartnerPayload;
  readonly ref: SubjectRef;
  /** Action parameters from the host (e.g. TwiML); never personal data of the subject. */
  readonly params: Readonly<Record<string, unknown>>;
}

export interface ActionResult {
  /** The partner's id for what the action created (a Twilio call sid), kept for later erasure. */
  readonly partnerId: string;
}

/** What the partner holds for the subject, for access reports. Personal data: never logged. */
export interface HeldData {
  readonly found: boolean;
  /** Field name -> value, as the partner returned it (mapped to our names where possible). */
  readonly fields: Readonly<Record<string, unknown>>;
}

export type BatchItemResult =
  | { readonly ok: true; readonly partnerId: string; readonly created: boolean }
  | { readonly ok: false; readonly error: PartnerError };

export interface PartnerAdapter {
  /** The partner's name in the policy (e.g. 'mailchimp'). */
  readonly partner: string;
  /**
   * What the partner keeps after erasure, whatever we ask (e.g. Twilio keeps call numbers 120 days).
   * Shown in access reports and erasure results. Plain text, no personal data.
   */
  readonly retainedAfterErasure: readonly string[];
  /**
   * The partner's ids are derived from a personal value (Mailchimp's subscriber hash is the md5 of
   * the email, and an unkeyed hash of an email is personal data). The transfer log then names them by
   * a keyed reference, and a link keeps them only while the partner holds the subject.
   */
  readonly personalIds?: boolean;
  /**
   * The partner's documented limits, which the gateway keeps to across all its workers unless the
   * host configures others (an account on a higher plan). `headroom`: the share of the rate kept
   * spare against arrival jitter (default 0.05); 0 where the partner counts in long windows.
   */
  readonly limits?: { readonly perSecond?: number; readonly headroom?: number; readonly maxConcurrent?: number };

  /** Create or update the subject at the partner with exactly this payload. */
  upsert?(input: UpsertInput, ctx: CallContext): Promise<UpsertResult>;
  /** Up to `maxBatchSize` upserts in one partner call, for resyncs. */
  upsertBatch?(inputs: readonly UpsertInput[], ctx: CallContext): Promise<readonly BatchItemResult[]>;
  readonly maxBatchSize?: number;
  /** Remove everything the partner holds for the subject. "Already gone" is success. */
  erase(ref: SubjectRef, mode: EraseMode, ctx: CallContext): Promise<EraseResult>;
  /** Consent withdrawn: keep the subject but stop the processing (Mailchimp: unsubscribed). */
  suppress?(ref: SubjectRef, ctx: CallContext): Promise<SuppressResult>;
  /** What the partner holds now, for access reports. */
  fetch?(ref: SubjectRef, ctx: CallContext): Promise<HeldData>;
  /** A one-off action that uses the payload once (Twilio: place an alarm call). */
  act?(input: ActionInput, ctx: CallContext): Promise<ActionResult>;
}

/**
 * retryable: nothing happened at the partner that a retry could duplicate; permanent: the partner
 * refused, a retry gets the same answer; unknown: the request may have reached the partner and been
 * acted on (a timeout or reset after it was sent), so a blind retry could do the work twice and the
 * transfer log records the outcome as unknown until the partner is looked at.
 */
export type PartnerErrorKind = 'retryable' | 'permanent' | 'unknown';

/**
 * Every adapter failure is one of these. The message names the partner, the operation, the HTTP
 * status and the partner's error code; it never contains a personal value (no email, no name, no
 * request or response body).
 */
export class PartnerError extends Error {
  override readonly name = 'PartnerError';
  readonly partner: string;
  readonly operation: string;
  readonly kind: PartnerErrorKind;
  readonly status: number | undefined;
  readonly code: string | undefined;
  /** From Retry-After or a rate-limit reset header, when the partner sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(init: {
    partner: string;
    operation: string;
    kind: PartnerErrorKind;
    status?: number;
    code?: string;
    retryAfterMs?: number;
    detail?: string;
  }) {
    const parts = [
      `${init.partner} ${init.operation} failed (${init.kind})`,
      init.status !== undefined ? `HTTP ${init.status}` : undefined,
      init.code ? `code ${init.code}` : undefined,
      init.retryAfterMs !== undefined ? `retry after ${Math.ceil(init.retryAfterMs / 1000)} s` : undefined,
      init.detail,
    ].filter(Boolean);
    super(parts.join(', '));
    this.partner = init.partner;
    this.operation = init.operation;
    this.kind = init.kind;
    this.status = init.status;
    this.code = init.code;
    this.retryAfterMs = init.retryAfterMs;
  }

  get retryable(): boolean {
    return this.kind === 'retryable';
  }
}

/**
 * The usual HTTP classification: 408, 409 (only where the caller says so), 425, 429 and 5xx, and
 * no status at all (timeout, connection reset), are worth retrying; other 4xx are not.
 */
export function classifyHttpStatus(status: number | undefined): PartnerErrorKind {
  if (status === undefined) return 'retryable';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retryable';
  return 'permanent';
}

/**
 * Parses a Retry-After header (seconds or an HTTP date) into milliseconds from `now`.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A partner's code goes into messages and logs: accept only what looks like a code, never free text. */
export function safeErrorCode(code: unknown): string | undefined {
  return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : undefined;
}

/** Only loopback may be spoken to over plain http; everything else must be https. */
export function assertSafeBaseUrl(partner: string, url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${partner}: base URL is not a valid URL`);
  }
  const loopback =
    ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(parsed.hostname) || parsed.hostname.startsWith('127.');
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    throw new Error(`${partner}: base URL must use https (plain http is allowed only for loopback addresses)`);
  }
  return parsed;
}
