/**
 * The adapter contract: everything an adapter may know about the gateway. Adapters import this file
 * (and nothing else from src/). An adapter receives only the minimised payload for its partner, the
 * partner's own ids for the subject and a per-partner pseudonym; it never sees the master record.
 */
import { isIP } from 'node:net';
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
  /**
   * The one of partnerIds the partner last answered with: its current key for the subject (a
   * Mailchimp member is re-keyed when the address changes, leaving old keys in partnerIds). Absent
   * before the partner first answered.
   */
  readonly currentId?: string;
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

export interface RestrictResult {
  /** The partner ids the restriction reached (or found already gone). */
  readonly partnerIds: readonly string[];
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
  /**
   * Flat: dotted path -> a value (a string, number or boolean) or a list of them, never a nested
   * object. A value that is one of ours goes under the policy's field path ('name.given',
   * 'address.street', 'email', 'phone'; 'name' where the partner keeps the whole name in one field);
   * anything else under the partner's own field name ('nickname', 'ip_address', 'location.city').
   * Where the subject has several records at the partner that are duplicates (two Stripe customers),
   * a field's differing values come as a list; where the records are distinct things (balena devices,
   * Twilio calls) each is under its partner id: 'ip_address.1234', 'call.CA….status' (the field or record kind first, as the policy's partnerFields map a path by its leading segments).
   * (Typed `unknown` so that test doubles may still hand back a payload as it is.)
   */
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
   * Policy field paths the partner's API cannot remove once set (Intercom cannot null an email). The
   * gateway cannot make such a partner forget a field the record lost, so the policy must list the
   * field's category under the partner's `requires`: losing it then erases the subject there.
   * createGateway refuses a policy that does not.
   */
  readonly cannotClear?: readonly string[];
  /**
   * What the partner does with SubjectRef.pseudonym, which a pseudonym key rotation changes
   * (src/rotation): 'key', its record is keyed by it (E-logistik's customer key), so the rotation
   * creates the subject under the new one and then erases it under the old; 'attribute', it is kept
   * on a record keyed otherwise and used to find it (Stripe's metadata, Intercom's external_id), so
   * the rotation's update rewrites it, which the adapter's update must do. Absent: not used.
   */
  readonly pseudonymUse?: 'key' | 'attribute';
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
  /**
   * The partner's own restriction mechanism (GDPR Art. 18), for a policy whose restriction is
   * `archive`: Intercom archives the contact. What the partner holds stays; it stops being processed.
   * "Already gone" is success.
   */
  restrict?(ref: SubjectRef, ctx: CallContext): Promise<RestrictResult>;
  /** Undoes restrict (Intercom: unarchive), once the restriction is lifted. */
  unrestrict?(ref: SubjectRef, ctx: CallContext): Promise<RestrictResult>;
  /**
   * The partner's ids of members who unsubscribed at the partner itself (Mailchimp: status
   * unsubscribed), changed since `since` when given, for the resync to record as consent withdrawals.
   * Never a personal value: ids only, as the partner keys them.
   */
  unsubscribedSince?(since: Date | undefined, ctx: CallContext): Promise<readonly string[]>;
  /** What the partner holds now, for access reports. */
  fetch?(ref: SubjectRef, ctx: CallContext): Promise<HeldData>;
  /**
   * The ids of records the partner holds for the subject that `erase(ref)` would not reach by
   * `ref.partnerIds` alone: a create whose answer was lost left one under an id the gateway never
   * learned. Found by what the partner was given (the pseudonym: Stripe metadata, Intercom's
   * external_id), never by a personal value another subject could share. Where erase() already works
   * by the pseudonym (E-logistik), return []. Without find, an unknown outcome at the partner can only
   * be resolved by an operator.
   */
  find?(ref: SubjectRef, ctx: CallContext): Promise<string[]>;
  /**
   * How long after a write find() may still miss it (Stripe's search index lags up to a minute): an
   * unknown outcome newer than this is not resolved by a search.
   */
  readonly findLagMs?: number;
  /** A one-off action that uses the payload once (Twilio: place an alarm call). */
  act?(input: ActionInput, ctx: CallContext): Promise<ActionResult>;
}

/**
 * retryable: worth retrying; permanent: the partner refused, a retry gets the same answer; unknown:
 * the adapter knows the request may have been acted on and a blind retry could do the work twice
 * (Twilio's call placing), so the job is not retried. The transport's own failures after a request
 * left (codes timeout, connection_error, aborted_in_flight) stay retryable: a retry is safe where
 * the partner honours the idempotency key or the call is an upsert by key. The transfer log still
 * records their outcome as unknown, and the partner as uncertain, until it is looked at.
 */
export type PartnerErrorKind = 'retryable' | 'permanent' | 'unknown';

/**
 * The gateway's own error codes, one spelling each: every PartnerError an adapter makes itself
 * carries one of these. A code the partner sent (Stripe's `resource_missing`, Twilio's `20404`) is
 * kept as the partner's own, after safeErrorCode.
 */
export const GATEWAY_ERROR_CODES = {
  // No usable answer.
  timeout: 'no complete answer within the deadline',
  connection_error: 'the connection failed or was closed before a complete answer',
  aborted: "the caller's signal aborted the call before its request was sent",
  aborted_in_flight: "the caller's signal aborted the call after its request was sent: it may have been acted on",
  redirect_refused: 'the partner answered with a redirect, which is never followed',
  answer_too_large: 'the answer was larger than the cap for this partner',
  unexpected_answer:
    "an answer without the fields the adapter needs, or a failure status without the partner's error shape",
  unexpected_error: 'the SDK failed in a way the adapter cannot read',
  sdk_unavailable: "the partner's SDK could not be loaded (is the package installed?)",
  // The call may have been acted on (kind 'unknown').
  outcome_unknown: 'the request may have been acted on; a blind retry could repeat it',
  // Refused before anything was sent.
  invalid_partner_id: "a partner id does not have the partner's own format",
  invalid_params: 'action parameters missing or malformed',
  request_too_large: 'the request body is larger than any partner takes (1 MB)',
  missing_email: 'the payload has no email and the partner keys by it',
  missing_phone: 'the payload has no phone number for a call',
  unsupported_action: 'the partner has no such action',
  unsupported_erase_mode: "the partner cannot erase in this mode (e.g. 'archive')",
  no_user_id: 'the partner needs an id from the host record and there is none',
  // The partner answered, and the adapter could not settle it.
  conflict: 'the partner reports a conflict the adapter could not resolve',
  user_exists: 'the subject exists at the partner in a way the adapter may not take over',
  missing_from_answer: 'a batch answer does not mention one of its items',
} as const;

export type GatewayErrorCode = keyof typeof GATEWAY_ERROR_CODES;

/**
 * Every adapter failure is one of these. The message names the partner, the operation, the HTTP
 * status and the error code; it never contains a personal value (no email, no name, no request or
 * response body). The code passes safeErrorCode here, whoever made it, and a retry-after hint is
 * sanitised the way parseRetryAfter does, so no partner answer can put free text or an absurd pause
 * into a message, a log row or a metric label.
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
    status?: number | undefined;
    /** A GatewayErrorCode, or the partner's own code. */
    code?: GatewayErrorCode | (string & {}) | undefined;
    retryAfterMs?: number | undefined;
    /** Fixed text from the adapter (never from an answer): what the code alone does not say. */
    detail?: GatewayErrorCode | (string & {}) | undefined;
  }) {
    const status = Number.isInteger(init.status) ? init.status : undefined;
    const code = safeErrorCode(init.code);
    const retryAfterMs = sanitiseRetryAfterMs(init.retryAfterMs);
    const parts = [
      `${init.partner} ${init.operation} failed (${init.kind})`,
      status !== undefined ? `HTTP ${status}` : undefined,
      code ? `code ${code}` : undefined,
      retryAfterMs !== undefined ? `retry after ${Math.ceil(retryAfterMs / 1000)} s` : undefined,
      init.detail,
    ].filter(Boolean);
    super(parts.join(', '));
    this.partner = init.partner;
    this.operation = init.operation;
    this.kind = init.kind;
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
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
 * The longest pause a partner's hint can ask for. A longer one is capped here: a pause is one
 * partner's calls standing still, and a job that waits days is better retried and looked at.
 */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

/** Milliseconds from a partner's hint: NaN, infinite or negative is no hint; more than an hour is an hour. */
export function sanitiseRetryAfterMs(ms: number | undefined): number | undefined {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return undefined;
  return Math.min(Math.round(ms), MAX_RETRY_AFTER_MS);
}

/**
 * Parses a Retry-After header (whole or decimal seconds, or an HTTP date) into milliseconds from
 * `now`, at most MAX_RETRY_AFTER_MS. Anything else (negative, exponents, junk, a date that does not
 * parse) is no hint at all; a date in the past means now.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.length > 64) return undefined;
  if (/^\d{1,12}(\.\d{1,6})?$/.test(trimmed)) return sanitiseRetryAfterMs(Number(trimmed) * 1000);
  // An HTTP date names a weekday and a month; a bare number that failed the test above never is one.
  if (!/^[A-Za-z]{3},? /.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : sanitiseRetryAfterMs(Math.max(0, at - now));
}

/**
 * A rate-limit reset header given as a Unix time in seconds (Intercom's and Auth0's
 * X-RateLimit-Reset), as milliseconds from `now`, sanitised like parseRetryAfter.
 */
export function parseResetTime(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,12}$/.test(value.trim())) return undefined;
  return sanitiseRetryAfterMs(Math.max(0, Number(value.trim()) * 1000 - now));
}

/** A partner's code goes into messages and logs: accept only what looks like a code, never free text. */
export function safeErrorCode(code: unknown): string | undefined {
  return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : undefined;
}

/**
 * Only loopback may be spoken to over plain http; everything else must be https. Loopback means an
 * IP literal in 127.0.0.0/8 or ::1 (parsed as an address, so 127.0.0.1.nip.io is a host name, not
 * loopback) or the name `localhost`, which resolvers keep on loopback (RFC 6761). Credentials in
 * the URL are refused: they would reach error messages and logs with it.
 */
export function assertSafeBaseUrl(partner: string, url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${partner}: base URL is not a valid URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new Error(`${partner}: base URL must use https (plain http is allowed only for loopback addresses)`);
  }
  if (parsed.username || parsed.password) {
    throw new Error(`${partner}: base URL must not carry credentials (give them as the partner's options)`);
  }
  if (parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname)) {
    throw new Error(`${partner}: base URL must use https (plain http is allowed only for loopback addresses)`);
  }
  return parsed;
}

/** `hostname` as URL gives it: IPv6 literals in brackets. */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  switch (isIP(host)) {
    case 4:
      return host.split('.')[0] === '127';
    case 6: {
      if (host === '::1') return true;
      // An IPv4-mapped address (::ffff:127.0.0.1, which URL writes as ::ffff:7f00:1).
      const mapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/i.exec(host);
      return mapped !== null && parseInt(mapped[1]!, 16) >> 8 === 127;
    }
    default:
      return false;
  }
}
