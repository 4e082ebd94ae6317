import type TwilioSdk from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as HttpResponse from 'twilio/lib/http/response.js';
import { z } from 'zod';
import {
  PartnerError,
  classifyHttpStatus,
  parseRetryAfter,
  type CallContext,
  type PartnerAdapter,
} from '../../src/adapter.ts';
import { gatewayErrors } from '../common/errors.ts';
import { lazySdk } from '../common/lazy-sdk.ts';
import { networkCode, type RestAnswer } from '../common/rest-client.ts';
import { createSdkTransport, type SdkTransport } from '../common/sdk-transport.ts';
import { requestsPerSecond } from '../common/limits.ts';
import { boundedFields, flatFields, ignoreNotFound } from '../common/results.ts';

const PARTNER = 'twilio';
const fail = gatewayErrors(PARTNER);
const DEFAULT_BASE_URL = 'https://api.twilio.com';
/** The whole request, answer included (the SDK's own default, 30 s, was an idle timer). */
const DEFAULT_TIMEOUT_MS = 30_000;
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

/**
 * The SDK's httpClient, speaking through the capped transport. The SDK has no base-URL option: it
 * builds absolute https://api.twilio.com URLs (or regional ones); the transport keeps their path and
 * query and sends them to the pinned origin. Credentials, query and form body as Twilio's own
 * RequestClient writes them (arrays repeated), which this replaces.
 */
function cappedRequestClient(twilio: typeof TwilioSdk, transport: SdkTransport): RequestClient {
  class CappedRequestClient extends twilio.RequestClient {
    override async request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<HttpResponse.default<TData>> {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(opts.headers ?? {}))
        if (value !== undefined) headers[name] = String(value);
      if (opts.username && opts.password)
        headers.Authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
      const url = new URL(opts.uri);
      for (const [name, value] of formPairs(opts.params)) url.searchParams.append(name, value);
      const type = headers['Content-Type'];
      const body =
        opts.data === undefined || opts.data === null
          ? undefined
          : type === 'application/json'
            ? JSON.stringify(opts.data)
            : new URLSearchParams(formPairs(opts.data)).toString();
      const answer = await transport.request({ method: opts.method, url: url.href, headers, body });
      return { statusCode: answer.status, body: answer.body, headers: answer.headers } as HttpResponse.default<TData>;
    }
  }
  // autoRetry is off by default in twilio 6; it is spelled out because a retried call can ring twice.
  return new CappedRequestClient({ autoRetry: false });
}

/** A Twilio parameter object as name-value pairs: a list repeats its name, an absent value is left out. */
function formPairs(values: unknown): [string, string][] {
  if (typeof values !== 'object' || values === null) return [];
  return Object.entries(values).flatMap(([name, value]): [string, string][] =>
    (Array.isArray(value) ? value : [value]).filter((v) => v !== undefined && v !== null).map((v) => [name, String(v)]),
  );
}

/** The error for a non-2xx answer, from its status, Twilio's numeric code and Retry-After only. */
function answerError(operation: string, answer: RestAnswer): PartnerError {
  const { status } = answer;
  const twilioCode = errorSchema.safeParse(answer.data).data?.code;
  const retryable = twilioCode === 20429 || status === 429 || twilioCode === 20009 || status === 503;
  return new PartnerError({
    partner: PARTNER,
    operation,
    kind: retryable ? 'retryable' : classifyHttpStatus(status),
    status,
    code: twilioCode === undefined ? undefined : String(twilioCode),
    retryAfterMs: parseRetryAfter(answer.headers['retry-after']),
  });
}

const errorSchema = z.object({ code: z.number().int() });
/** What the adapter reads of a call, from the SDK's CallInstance: the sid by Twilio's own format. */
const callSchema = z.object({
  sid: z.string().regex(CALL_SID),
  to: z.string().nullish(),
  status: z.string().nullish(),
  dateCreated: z.date().nullish(),
  // How long the alarm call lasted and whether a person or a machine answered. (Not startTime / endTime:
  // the SDK turns an absent time into the time of reading, which would put a made-up time in the report.)
  duration: z.unknown().optional(),
  answeredBy: z.unknown().optional(),
});
const callListSchema = z.array(z.unknown());

export function createTwilioAdapter(options: TwilioOptions): PartnerAdapter {
  if (!options.accountSid?.startsWith('AC')) throw new Error('twilio: accountSid must start with AC');
  if (!options.authToken) throw new Error('twilio: authToken is required');
  if (!options.from) throw new Error('twilio: from is required');
  const transport = createSdkTransport({
    partner: PARTNER,
    baseUrl: options.baseUrl ?? DEFAULT_BASE_URL,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    answerError,
  });
  const client = lazySdk(PARTNER, async () => {
    const { default: twilio } = await import('twilio');
    return twilio(options.accountSid, options.authToken, {
      httpClient: cappedRequestClient(twilio, transport),
      // The SDK reads TWILIO_* variables from process.env when an option is absent; TWILIO_LOG_LEVEL=debug
      // would print request parameters (phone numbers) to the console. The origin is ours anyway
      // (see cappedRequestClient); for Twilio's regional processing, set baseUrl to that region.
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
    const recent = callListSchema.safeParse(
      await send('act', ctx, false, async () =>
        (await client('act')).calls.list({ to, from: options.from, limit: LOOKUP_LIMIT }),
      ),
    );
    if (!recent.success) return undefined;
    const candidates = recent.data
      .map((raw) => callSchema.safeParse(raw).data)
      .filter(
        (call) =>
          call !== undefined &&
          !known.includes(call.sid) &&
          call.dateCreated instanceof Date &&
          call.dateCreated.getTime() >= startedAt - CLOCK_SKEW_MS,
      );
    return candidates.length === 1 ? candidates[0]!.sid : undefined;
  }

  /** One SDK call: every failure is a PartnerError (see toPartnerError). */
  const send = <T>(operation: string, ctx: CallContext, placesCall: boolean, run: () => Promise<T>): Promise<T> =>
    transport.run(operation, ctx, run).catch((err: unknown) => {
      throw toPartnerError(operation, err, placesCall);
    });

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
        const call = callSchema.safeParse(
          await send(operation, ctx, true, async () =>
            (await client('act')).calls.create({ to, from: options.from, ...instructions }),
          ),
        );
        // A 2xx answer to a create: the call was placed, but its sid is not readable.
        if (!call.success) throw fail(operation, 'unknown', 'outcome_unknown', { detail: 'unexpected_answer' });
        return { partnerId: call.data.sid };
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
        const gone = await ignoreNotFound(
          send('erase', ctx, false, async () => (await client('erase')).calls(sid).remove()),
        );
        // The SDK's remove() is true for Twilio's 204 and anything else 2xx: only an empty 204 is a deletion.
        if (gone !== undefined && gone !== true) throw fail('erase', 'retryable', 'unexpected_answer');
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
        const raw = await ignoreNotFound(
          send('fetch', ctx, false, async () => (await client('fetch')).calls(sid).fetch()),
        );
        if (raw === undefined) continue;
        const parsed = callSchema.safeParse(raw);
        // Not this call's answer: nothing can be said about what Twilio holds.
        if (!parsed.success || parsed.data.sid !== sid) throw fail('fetch', 'retryable', 'unexpected_answer');
        const call = parsed.data;
        found = true;
        if (call.to) numbers.add(call.to);
        Object.assign(
          fields,
          flatFields({ status: call.status, date_created: toIso(call.dateCreated) }, `call.${sid}`),
          boundedFields(call.duration, `call.${sid}.duration`),
          boundedFields(call.answeredBy, `call.${sid}.answered_by`),
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

/** Failures that happen before a byte reaches Twilio: nothing can have been placed. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Twilio has no idempotency key, so for a call-placing request only a failure that surely placed
 * nothing stays retryable: refused before sending, 429/20429, 503 (answerError), a 4xx. A timeout, a
 * reset, a cut-off or oversized answer, a redirect or another 5xx may have come after the call was
 * queued: retrying could ring twice, so it is kind 'unknown' (code outcome_unknown).
 */
function toPartnerError(operation: string, err: unknown, placesCall: boolean): PartnerError {
  if (!(err instanceof PartnerError)) {
    // The SDK failed reading a 2xx answer: for a call-placing request, after sending.
    return placesCall
      ? fail(operation, 'unknown', 'outcome_unknown', { detail: 'unexpected_error' })
      : fail(operation, 'retryable', 'unexpected_answer');
  }
  if (!placesCall) return err;
  const { status } = err;
  const placedNothing =
    status === undefined ? NOT_SENT.has(networkCode(err) ?? '') : (status >= 400 && status < 500) || status === 503;
  return placedNothing ? err : fail(operation, 'unknown', 'outcome_unknown', status !== undefined ? { status } : {});
}
