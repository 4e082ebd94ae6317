/**
 * Generic HTTP plumbing for the adapters that speak REST over axios: the client's set-up, the
 * classification of transport failures, and PartnerErrors from answers with a per-partner hook for
 * the partner's error shape. No partner API knowledge lives here: paths, a partner's own headers,
 * its status handling and its bodies stay in that partner's adapter folder.
 */
import axios, { type AxiosRequestConfig } from 'axios';
import {
  PartnerError,
  assertSafeBaseUrl,
  classifyHttpStatus,
  parseRetryAfter,
  safeErrorCode,
  type CallContext,
} from '../../src/adapter.ts';

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
  send(operation: string, config: AxiosRequestConfig, ctx: CallContext): Promise<RestAnswer>;
  /** As send, but anything other than a 2xx answer rejects with error(). */
  expectOk(operation: string, config: AxiosRequestConfig, ctx: CallContext): Promise<RestAnswer>;
  /** The PartnerError for a failure answer: status, the partner's code, and its pause hint if retryable. */
  error(operation: string, answer: RestAnswer): PartnerError;
}

/** Partners answer a contact or a page of them in kilobytes: 2 MB leaves room and stops a flood. */
export const MAX_ANSWER_BYTES = 2 * 1024 * 1024;

/** The Node error code behind a transport failure this module made ('ECONNREFUSED'), if it had one. */
const networkCodes = new WeakMap<PartnerError, string>();
export const networkCode = (err: PartnerError): string | undefined => networkCodes.get(err);

export const isSuccess = (answer: RestAnswer): boolean => answer.status >= 200 && answer.status < 300;

export function createRestClient(options: RestClientOptions): RestClient {
  const { partner } = options;
  const base = assertSafeBaseUrl(partner, options.baseUrl);
  // One instance per adapter, never axios's default one: its token is not shared with anyone.
  const timeoutMs = options.timeoutMs ?? 10_000;
  const http = axios.create({
    baseURL: base.href.replace(/\/+$/, ''),
    // axios's own timeout is an idle timer on the socket (a drip outlives it): the whole request's
    // deadline is the abort signal set per request below; this one only catches a silent socket.
    timeout: timeoutMs,
    // Neither a huge answer nor a compressed one that inflates past the cap is buffered whole.
    maxContentLength: options.maxAnswerBytes ?? MAX_ANSWER_BYTES,
    maxBodyLength: 1024 * 1024,
    decompress: true,
    headers: { ...options.headers, Accept: 'application/json' },
    // Every status is classified by the adapter, so axios must not turn them into its own errors.
    validateStatus: () => true,
    // Nothing but the base URL is spoken to: a redirect is not followed.
    maxRedirects: 0,
    // A timeout is reported as ETIMEDOUT rather than as axios's generic ECONNABORTED.
    transitional: { clarifyTimeoutError: true },
  });

  function transportError(operation: string, err: unknown, deadline: AbortSignal): PartnerError {
    // Only codes are kept: axios messages and configs can carry the URL and the credentials.
    const nodeCode = axios.isAxiosError(err) ? safeErrorCode(err.code) : undefined;
    // axios reports a body over maxContentLength as ERR_BAD_RESPONSE with this fixed message.
    const tooLarge = axios.isAxiosError(err) && /maxContentLength/.test(err.message);
    const code = tooLarge
      ? 'answer_too_large'
      : deadline.aborted
        ? 'timeout'
        : axios.isCancel(err)
          ? 'aborted'
          : nodeCode === 'ETIMEDOUT' || nodeCode === 'ECONNABORTED'
            ? 'timeout'
            : 'connection_error';
    const failure = new PartnerError({
      partner,
      operation,
      kind: 'retryable',
      code,
      detail: code === 'connection_error' && nodeCode ? `network ${nodeCode}` : undefined,
    });
    // Kept beside the error, not in it: whether a request can have been sent depends on it.
    if (nodeCode) networkCodes.set(failure, nodeCode);
    return failure;
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

  async function send(operation: string, config: AxiosRequestConfig, ctx: CallContext): Promise<RestAnswer> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, deadline]) : deadline;
    let res;
    try {
      res = await http.request({ ...config, signal });
    } catch (err) {
      throw transportError(operation, err, deadline);
    }
    // No partner this client serves documents a redirect: a 3xx is never an answer, nor followed.
    if (res.status >= 300 && res.status < 400) throw redirectRefused(operation, res.status);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (typeof value === 'string') headers[name.toLowerCase()] = value;
    }
    return { status: res.status, headers, data: res.data };
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
