/**
 * Generic HTTP plumbing for the adapters that speak REST over axios: the client's set-up and the
 * classification of transport failures. No partner API knowledge lives here: paths, a partner's own
 * headers, its status handling and its bodies stay in that partner's adapter folder.
 */
import axios, { type AxiosRequestConfig, type AxiosResponse } from 'axios';
import { PartnerError, assertSafeBaseUrl, safeErrorCode, type CallContext } from '../../src/adapter.ts';

export interface RestClientOptions {
  /** The partner's name in the policy: it names the partner in errors. */
  readonly partner: string;
  /** https, or http on loopback only (checked here); a trailing slash is dropped. */
  readonly baseUrl: string;
  /** Sent on every request, e.g. Authorization; `Accept: application/json` is always sent. */
  readonly headers: Readonly<Record<string, string>>;
  /** Per-request deadline, default 10 s. */
  readonly timeoutMs?: number | undefined;
}

export interface RestClient {
  /**
   * Sends the request with the caller's abort signal and resolves with every HTTP answer, whatever
   * its status: the adapter classifies statuses. A failure with no answer (timeout, connection
   * error, abort) rejects with a retryable PartnerError.
   */
  request(operation: string, config: AxiosRequestConfig, ctx: CallContext): Promise<AxiosResponse>;
}

export function createRestClient(options: RestClientOptions): RestClient {
  const { partner } = options;
  const base = assertSafeBaseUrl(partner, options.baseUrl);
  // One instance per adapter, never axios's default one: its token is not shared with anyone.
  const http = axios.create({
    baseURL: base.href.replace(/\/+$/, ''),
    timeout: options.timeoutMs ?? 10_000,
    headers: { ...options.headers, Accept: 'application/json' },
    // Every status is classified by the adapter, so axios must not turn them into its own errors.
    validateStatus: () => true,
    // Nothing but the base URL is spoken to: a redirect is not followed.
    maxRedirects: 0,
    // A timeout is reported as ETIMEDOUT rather than as axios's generic ECONNABORTED.
    transitional: { clarifyTimeoutError: true },
  });

  function transportError(operation: string, err: unknown): PartnerError {
    // Only the error code is kept: axios messages and configs can carry the URL and the credentials.
    const code = axios.isCancel(err) ? 'aborted' : axios.isAxiosError(err) ? safeErrorCode(err.code) : undefined;
    return new PartnerError({ partner, operation, kind: 'retryable', code: code ?? 'network_error' });
  }

  return {
    async request(operation, config, ctx) {
      try {
        return await http.request({ ...config, signal: ctx.signal });
      } catch (err) {
        throw transportError(operation, err);
      }
    },
  };
}
