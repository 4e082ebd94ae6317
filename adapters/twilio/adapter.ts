import type TwilioSdk from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as HttpResponse from 'twilio/lib/http/response.js';
import {
  PartnerError,
  assertSafeBaseUrl,
  classifyHttpStatus,
  parseRetryAfter,
  safeErrorCode,
  type CallContext,
  type PartnerAdapter,
} from '../../src/adapter.ts';
import { gatewayErrors } from '../common/errors.ts';
import { lazySdk } from '../common/lazy-sdk.ts';
import { requestsPerSecond } from '../common/limits.ts';
import { flatFields, ignoreNotFound } from '../common/results.ts';

const PARTNER = 'twilio';
const fail = gatewayErrors(PARTNER);
const DEFAULT_BASE_URL = 'https://api.twilio.com';
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
/** Twilio's date_created has whole seconds, and its clock is not ours. */
const CLOCK_SKEW_MS = 5 * 60_000;
/** Recent calls to the number read when an answer was lost (newest first). */
const LOOKUP_LIMIT = 20;

export interface TwilioOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** The caller id the alarm calls come from (a Twilio number of the account), E.164. */
  readonly from: string;
  /** Origin the API is served at, default https://api.twilio.com. */
  readonly baseUrl?: string;
  /** Per-request deadline in ms (the SDK's default is 30 s). */
  readonly timeoutMs?: number;
  /** Call-placing requests per second. Default 1, Twilio's default for an account; raised on request. */
  readonly requestsPerSecond?: number;
}

/** An HTTP answer >= 400, with what the SDK's own RestException drops: the Retry-After header. */
class TwilioHttpError extends Error {
  override readonly name = 'TwilioHttpError';
  readonly status: number;
  readonly twilioCode: number | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(response: HttpResponse.default<unknown>) {
    super(`HTTP ${response.statusCode}`);
    this.status = response.statusCode;
    const body = typeof response.body === 'string' ? safeJson(response.body) : response.body;
    const code = (body as { code?: unknown } | null)?.code;
    this.twilioCode = typeof code === 'number' ? code : undefined;
    const headers = response.headers as Record<string, unknown> | undefined;
    const retryAfter = headers?.['retry-after'];
    this.retryAfterMs = parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : undefined);
  }
}

/**
 * The SDK has no base-URL option: it builds absolute https://api.twilio.com URLs (or regional ones)
 * and hands them to its httpClient, so the redirect happens here, on the way out.
 */
function redirectingRequestClient(twilio: typeof TwilioSdk, base: URL, timeoutMs: number | undefined): RequestClient {
  const prefix = base.href.replace(/\/+$/, '');
  class RedirectingRequestClient extends twilio.RequestClient {
    override async request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<HttpResponse.default<TData>> {
      const original = new URL(opts.uri);
      const response = await super.request({ ...opts, uri: `${prefix}${original.pathname}${original.search}` });
      if (response.statusCode >= 400) throw new TwilioHttpError(response);
      return response;
    }
  }
  // autoRetry is off by default in twilio 6; it is spelled out because a retried call can ring twice.
  return new RedirectingRequestClient({ autoRetry: false, ...(timeoutMs ? { timeout: timeoutMs } : {}) });
}

export function createTwilioAdapter(options: TwilioOptions): PartnerAdapter {
  if (!options.accountSid?.startsWith('AC')) throw new Error('twilio: accountSid must start with AC');
  if (!options.authToken) throw new Error('twilio: authToken is required');
  if (!options.from) throw new Error('twilio: from is required');
  const base = assertSafeBaseUrl(PARTNER, options.baseUrl ?? DEFAULT_BASE_URL);
  const client = lazySdk(PARTNER, async () => {
    const { default: twilio } = await import('twilio');
    return twilio(options.accountSid, options.authToken, {
      httpClient: redirectingRequestClient(twilio, base, options.timeoutMs),
      // The SDK reads TWILIO_* variables from process.env when an option is absent; TWILIO_LOG_LEVEL=debug
      // would print request parameters (phone numbers) to the console. The origin is ours anyway
      // (see redirectingRequestClient); for Twilio's regional processing, set baseUrl to that region.
      edge: '',
      region: '',
      logLevel: 'none',
      autoRetry: false,
    });
  });

  /**
   * The call this request placed, if Twilio holds exactly one to this number from our number, created
   * since the request went out (with CLOCK_SKEW_MS for the two clocks), that the gateway does not
   * already know of.
   */
  async function findPlacedCall(
    to: string,
    startedAt: number,
    known: readonly string[],
    ctx: CallContext,
  ): Promise<string | undefined> {
    const recent = await send('act', ctx, false, async () =>
      (await client('act')).calls.list({ to, from: options.from, limit: LOOKUP_LIMIT }),
    );
    const candidates = recent.filter(
      (call) =>
        CALL_SID.test(call.sid) &&
        !known.includes(call.sid) &&
        call.dateCreated instanceof Date &&
        call.dateCreated.getTime() >= startedAt - CLOCK_SKEW_MS,
    );
    return candidates.length === 1 ? candidates[0]!.sid : undefined;
  }

  return {
    partner: PARTNER,
    limits: { perSecond: requestsPerSecond(PARTNER, options.requestsPerSecond, 1) },
    retainedAfterErasure: [
      'Twilio keeps the called phone number in its call records for at least 120 days, whatever is deleted through the API.',
      'Call recordings and transcriptions are separate resources: this adapter neither makes nor deletes them.',
    ],

    async act(input, ctx) {
      const operation = 'act';
      if (input.action !== 'alarm') throw fail(operation, 'permanent', 'unsupported_action');
      const to = input.payload.phone;
      if (!to) throw fail(operation, 'permanent', 'missing_phone');
      const { twiml, url } = input.params;
      const instructions =
        typeof twiml === 'string' && url === undefined
          ? { twiml }
          : typeof url === 'string' && twiml === undefined
            ? { url }
            : undefined;
      if (!instructions) throw fail(operation, 'permanent', 'invalid_params');
      const startedAt = Date.now();
      try {
        const call = await send(operation, ctx, true, async () =>
          (await client('act')).calls.create({ to, from: options.from, ...instructions }),
        );
        // A 2xx answer to a create: the call was placed, but its sid is not readable.
        if (!CALL_SID.test(call.sid))
          throw fail(operation, 'unknown', 'outcome_unknown', { detail: 'unexpected_answer' });
        return { partnerId: call.sid };
      } catch (err) {
        if (!(err instanceof PartnerError) || err.kind !== 'unknown') throw err;
        // The answer was lost, not necessarily the call. Look for it, so that a placed call is not
        // rung again and its record can be erased later; if it cannot be told apart, it stays unknown.
        const placed = await findPlacedCall(to, startedAt, input.ref.partnerIds, ctx).catch(() => undefined);
        if (placed) return { partnerId: placed };
        throw err;
      }
    },

    // Twilio has no archive: both modes delete the call records. Erasure works from the call sids the
    // gateway kept; the contract gives no phone number to search calls by.
    async erase(ref, _mode, ctx) {
      const removed: string[] = [];
      for (const sid of callSids(ref.partnerIds)) {
        await ignoreNotFound(send('erase', ctx, false, async () => (await client('erase')).calls(sid).remove()));
        removed.push(sid);
      }
      return { removed };
    },

    async fetch(ref, ctx) {
      // Each call is its own record: 'call.<sid>.status'; the number called is the subject's 'phone'.
      const fields: Record<string, unknown> = {};
      const numbers = new Set<string>();
      let found = false;
      for (const sid of callSids(ref.partnerIds)) {
        const call = await ignoreNotFound(
          send('fetch', ctx, false, async () => (await client('fetch')).calls(sid).fetch()),
        );
        if (!call) continue;
        found = true;
        if (call.to) numbers.add(call.to);
        Object.assign(
          fields,
          flatFields({ status: call.status, date_created: toIso(call.dateCreated) }, `call.${sid}`),
        );
      }
      const phones = [...numbers];
      if (phones.length > 0) fields.phone = phones.length === 1 ? phones[0] : phones;
      return { found, fields };
    },
  };
}

function callSids(partnerIds: readonly string[]): string[] {
  return partnerIds.filter((id) => CALL_SID.test(id));
}

function toIso(date: unknown): string | undefined {
  return date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function send<T>(operation: string, ctx: CallContext, placesCall: boolean, run: () => Promise<T>): Promise<T> {
  if (ctx.signal?.aborted) throw fail(operation, 'retryable', 'aborted');
  try {
    return await run();
  } catch (err) {
    throw toPartnerError(operation, err, placesCall);
  }
}

/** Failures that happen before a byte reaches Twilio: nothing can have been placed. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Twilio has no idempotency key, so for a call-placing request only a failure that surely placed
 * nothing is retryable: refused before sending, 429/20429, 503. A timeout, a reset or another 5xx
 * may have come after the call was queued: retrying could ring twice, so it is kind 'unknown' (code
 * outcome_unknown). The error message Twilio sends can quote the number: only its numeric code is kept.
 */
function toPartnerError(operation: string, err: unknown, placesCall: boolean): PartnerError {
  if (err instanceof PartnerError) return err;
  if (err instanceof TwilioHttpError) {
    const { status, twilioCode, retryAfterMs } = err;
    const code = twilioCode === undefined ? undefined : String(twilioCode);
    const retryable = twilioCode === 20429 || status === 429 || twilioCode === 20009 || status === 503;
    if (retryable)
      return new PartnerError({ partner: PARTNER, operation, kind: 'retryable', status, code, retryAfterMs });
    if (placesCall && status >= 500) return fail(operation, 'unknown', 'outcome_unknown', { status });
    return new PartnerError({
      partner: PARTNER,
      operation,
      kind: classifyHttpStatus(status),
      status,
      code,
      retryAfterMs,
    });
  }
  const networkCode = (err as { code?: unknown } | null)?.code;
  if (typeof networkCode === 'string') {
    const timedOut = networkCode === 'ECONNABORTED' || networkCode === 'ETIMEDOUT';
    const detail = `network ${safeErrorCode(networkCode) ?? 'error'}`;
    if (NOT_SENT.has(networkCode) || !placesCall) {
      return fail(operation, 'retryable', timedOut ? 'timeout' : 'connection_error', { detail });
    }
    return fail(operation, 'unknown', 'outcome_unknown', { detail });
  }
  // The SDK failed reading an answer (a 2xx it cannot parse): for a call-placing request, after sending.
  return placesCall
    ? fail(operation, 'unknown', 'outcome_unknown', { detail: 'unexpected_error' })
    : fail(operation, 'permanent', 'unexpected_error');
}
