/**
 * Generic HTTP plumbing for the adapters that speak REST (on http-request.ts): the client's set-up, the
 * classification of transport failures, and PartnerErrors from answers with a per-partner hook for
 * the partner's error shape. No partner API knowledge lives here: paths, a partner's own headers,
 * its status handling and its bodies stay in that partner's adapter folder.
 */
import {
  PartnerError,
  assertSafeBaseUrl,
  classifyHttpStatus,
  parseRetryAfter,
  safeErrorCode,
  type CallContext,
} from '../../src/adapter.ts';
import { HttpFailure, sendHttp } from './http-request.ts';

/** One request to the partner, relative to its base URL. */
export interface RestRequest {
  readonly method: string;
  /** The path under the base URL, with its query if any ('/contacts/123', '/v7/device?$filter=...'). */
  readonly url: string;
  /** Added to the query (URL-encoded, spaces as '+'). */
  readonly params?: Readonly<Record<string, string | number | boolean>> | undefined;
  /** A string or bytes are sent as they are (set their Content-Type); anything else as JSON. */
  readonly data?: unknown;
  /** Added to the client's own; a name given here replaces the client's (case-insensitive). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** 'json' (the default): a body that parses as JSON is parsed, any other is kept as text. */
  readonly responseType?: 'json' | 'text' | undefined;
}

/** An HTTP answer, whatever its status; header names lower-cased. */
export interface RestAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly data: unknown;
}

export interface RestClientOptions {
  /** The partner's name in the policy: it names the partner in errors. */
  readonly partner: string;
  /** https, or http on loopback only (checked here); a trailing slash is dropped. */
  readonly baseUrl: string;
  /** Sent on every request, e.g. Authorization; `Accept: application/json` is always sent. */
  readonly headers: Readonly<Record<string, string>>;
  /** Deadline for the whole request, answer body included, default 10 s. */
  readonly timeoutMs?: number | undefined;
  /** The largest answer body read, default MAX_ANSWER_BYTES; a larger one fails as answer_too_large. */
  readonly maxAnswerBytes?: number | undefined;
  /**
   * The partner's own error code in a failure answer (it passes safeErrorCode before use), or
   * undefined when the answer carries none.
   */
  errorCode(answer: RestAnswer): string | undefined;
  /** How long the partner asks us to wait; default: its Retry-After header. */
  retryAfterMs?(answer: RestAnswer): number | undefined;
}

export interface RestClient {
  /**
   * Sends the request with the caller's abort signal and resolves with every HTTP answer, whatever
   * its status. A failure with no answer (timeout, connection error, abort) rejects with a
   * retryable PartnerError.
   */
  send(operation: string, request: RestRequest, ctx: CallContext): Promise<RestAnswer>;
  /** As send, but anything other than a 2xx answer rejects with error(). */
  expectOk(operation: string, request: RestRequest, ctx: CallContext): Promise<RestAnswer>;
  /** The PartnerError for a failure answer: status, the partner's code, and its pause hint if retryable. */
  error(operation: string, answer: RestAnswer): PartnerError;
}

/** Partners answer a contact or a page of them in kilobytes: 2 MB leaves room and stops a flood. */
export const MAX_ANSWER_BYTES = 2 * 1024 * 1024;

/** The largest request body sent: a Mailchimp batch of 500 members is well under it. */
const MAX_REQUEST_BYTES = 1024 * 1024;

/** The Node error code behind a transport failure this module made ('ECONNREFUSED'), if it had one. */
const networkCodes = new WeakMap<PartnerError, string>();
export const networkCode = (err: PartnerError): string | undefined => networkCodes.get(err);

export const isSuccess = (answer: RestAnswer): boolean => answer.status >= 200 && answer.status < 300;

export function createRestClient(options: RestClientOptions): RestClient {
  const { partner } = options;
  const base = assertSafeBaseUrl(partner, options.baseUrl);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxAnswerBytes = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
  const baseHref = base.href.replace(/\/+$/, '');
  // Header names are case-insensitive: one entry per name, lower-cased, a request's own replacing ours.
  const clientHeaders = lowerCased({
    'user-agent': 'partner-gateway',
    'accept-encoding': 'gzip, deflate, br',
    ...options.headers,
    accept: 'application/json',
  });

  function transportError(operation: string, err: unknown, deadline: AbortSignal): PartnerError {
    // Only codes are kept: an error's message can carry the URL.
    const failure = err instanceof HttpFailure ? err.code : undefined;
    const own = failure === 'aborted' || failure === 'aborted_in_flight' || failure === 'answer_too_large';
    const nodeCode = failure && !own ? safeErrorCode(failure) : undefined;
    const code =
      failure === 'answer_too_large'
        ? 'answer_too_large'
        : deadline.aborted
          ? 'timeout'
          : failure === 'aborted' || failure === 'aborted_in_flight'
            ? failure
            : nodeCode === 'ETIMEDOUT'
              ? 'timeout'
              : 'connection_error';
    const error = new PartnerError({
      partner,
      operation,
      kind: 'retryable',
      code,
      detail: code === 'connection_error' && nodeCode ? `network ${nodeCode}` : undefined,
    });
    // Kept beside the error, not in it: whether a request can have been sent depends on it.
    if (nodeCode) networkCodes.set(error, nodeCode);
    return error;
  }

  function redirectRefused(operation: string, status: number): PartnerError {
    return new PartnerError({ partner, operation, kind: 'retryable', status, code: 'redirect_refused' });
  }

  const error: RestClient['error'] = (operation, answer) => {
    const kind = classifyHttpStatus(answer.status);
    return new PartnerError({
      partner,
      operation,
      kind,
      status: answer.status,
      code: safeErrorCode(options.errorCode(answer)),
      retryAfterMs:
        kind === 'retryable'
          ? (options.retryAfterMs ?? ((a: RestAnswer) => parseRetryAfter(a.headers['retry-after'])))(answer)
          : undefined,
    });
  };

  async function send(operation: string, request: RestRequest, ctx: CallContext): Promise<RestAnswer> {
    const { body, contentType } = encodeBody(request.data);
    if (body !== undefined && Buffer.byteLength(body) > MAX_REQUEST_BYTES) {
      // Never sent: no partner takes a request body this size, and a retry would be the same.
      throw new PartnerError({ partner, operation, kind: 'permanent', code: 'request_too_large' });
    }
    // The deadline covers the whole request, answer body included; the socket's idle timer only
    // catches a silent connection sooner than that.
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, deadline]) : deadline;
    const headers = {
      ...clientHeaders,
      ...(contentType ? { 'content-type': contentType } : {}),
      ...lowerCased(request.headers ?? {}),
    };
    let res;
    try {
      res = await sendHttp({
        method: request.method.toUpperCase(),
        url: requestUrl(baseHref, request),
        headers,
        body,
        signal,
        idleTimeoutMs: timeoutMs,
        maxAnswerBytes,
      });
    } catch (err) {
      throw transportError(operation, err, deadline);
    }
    // No partner this client serves documents a redirect: a 3xx is never an answer, nor followed.
    if (res.status >= 300 && res.status < 400) throw redirectRefused(operation, res.status);
    const answerHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (typeof value === 'string') answerHeaders[name.toLowerCase()] = value;
    }
    return { status: res.status, headers: answerHeaders, data: decodeBody(res.body, request.responseType) };
  }

  return {
    send,
    error,
    async expectOk(operation, config, ctx) {
      const answer = await send(operation, config, ctx);
      if (!isSuccess(answer)) throw error(operation, answer);
      return answer;
    },
  };
}

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

/** The base URL's path, then the request's path and query, then its params. */
function requestUrl(baseHref: string, request: RestRequest): URL {
  const url = new URL(`${baseHref}/${request.url.replace(/^\/+/, '')}`);
  for (const [name, value] of Object.entries(request.params ?? {})) url.searchParams.append(name, String(value));
  return url;
}

function encodeBody(data: unknown): { body?: string | Uint8Array; contentType?: string } {
  if (data === undefined || data === null) return {};
  if (typeof data === 'string' || data instanceof Uint8Array) return { body: data };
  return { body: JSON.stringify(data), contentType: 'application/json' };
}

function decodeBody(body: Buffer, responseType: RestRequest['responseType']): unknown {
  // A byte order mark is not part of the JSON, nor of the text an SDK parses.
  const text = body.toString('utf8').replace(/^\uFEFF/, '');
  if (responseType === 'text' || text === '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
