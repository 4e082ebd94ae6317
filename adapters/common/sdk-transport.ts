/**
 * The one way a partner SDK reaches the network: each SDK's own transport hook (Stripe's httpClient,
 * Auth0's fetch, Twilio's httpClient) hands its requests here, and they go out through the REST
 * client (rest-client.ts), so an SDK gets the same guarantees as the REST adapters: the pinned origin
 * only, whatever URL the SDK built; no redirect followed; answers capped at MAX_ANSWER_BYTES after
 * decompression; one deadline for the whole request; no answer text in an error.
 *
 * The SDK only ever sees 2xx answers. Anything else is turned into a PartnerError by the adapter's
 * own `answerError` before the SDK can misread it (an error-less 503 taken as success, a 3xx as an
 * answer). An SDK wraps what its transport throws in its own error classes; `run` remembers the
 * PartnerError and rejects with it, however the SDK wrapped it, and refuses any further request in
 * that call once one has failed: an SDK's hidden retry (Stripe repeats a reset connection even with
 * retries off) never reaches the partner. Generic plumbing: no partner API knowledge lives here.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { PartnerError, type CallContext } from '../../src/adapter.ts';
import { createRestClient, isSuccess, type RestAnswer } from './rest-client.ts';

export interface SdkTransportOptions {
  readonly partner: string;
  /** The pinned origin (and path prefix) every request goes to; https unless loopback. */
  readonly baseUrl: string;
  /** Deadline for the whole request, answer body included, default 10 s. */
  readonly timeoutMs?: number | undefined;
  /** The error for a non-2xx answer, from its status, headers and parsed body (never its text). */
  answerError(operation: string, answer: RestAnswer): PartnerError;
}

/** One request as an SDK makes it; the SDK's own host is ignored, only its path and query are kept. */
export interface SdkRequest {
  readonly method: string;
  /** An absolute URL or a path with its query ('/v1/customers?limit=1'). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array | undefined;
  /** The SDK's own signal (its timeout); the call's signal and the deadline apply as well. */
  readonly signal?: AbortSignal | undefined;
}

/** A 2xx answer as the SDK reads it: header names lower-cased, the body as text. */
export interface SdkAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface SdkTransport {
  /**
   * Runs one SDK call as `operation`: every request it makes goes through `request` with ctx's
   * signal. It rejects with the PartnerError the transport raised, when it raised one.
   */
  run<T>(operation: string, ctx: CallContext, call: () => Promise<T>): Promise<T>;
  /** For the SDK's transport hook: resolves with a 2xx answer or rejects with a PartnerError. */
  request(request: SdkRequest): Promise<SdkAnswer>;
}

interface RunState {
  readonly operation: string;
  readonly ctx: CallContext;
  failure?: PartnerError;
}

/** The answer's own status, headers and JSON body (or undefined), for answerError. */
function parsedAnswer(status: number, headers: Readonly<Record<string, string>>, text: string): RestAnswer {
  let data: unknown;
  try {
    data = text === '' ? undefined : JSON.parse(text);
  } catch {
    data = undefined;
  }
  return { status, headers, data };
}

export function createSdkTransport(options: SdkTransportOptions): SdkTransport {
  const { partner } = options;
  const rest = createRestClient({
    partner,
    baseUrl: options.baseUrl,
    // The SDK sets its own headers (credentials included) on every request.
    headers: {},
    timeoutMs: options.timeoutMs,
    errorCode: () => undefined,
  });
  // Per transport: two adapters in one process never see each other's calls.
  const calls = new AsyncLocalStorage<RunState>();

  async function request(req: SdkRequest): Promise<SdkAnswer> {
    const state = calls.getStore();
    const operation = state?.operation ?? 'request';
    // After a failure the call is over: a second request would be the SDK retrying behind our back.
    if (state?.failure) throw state.failure;
    try {
      const url = new URL(req.url, 'http://sdk.invalid');
      const signals = [state?.ctx.signal, req.signal].filter((s): s is AbortSignal => s !== undefined);
      const ctx: CallContext = {
        correlationId: state?.ctx.correlationId ?? '',
        idempotencyKey: state?.ctx.idempotencyKey ?? '',
        ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
      };
      const answer = await rest.send(
        operation,
        {
          method: req.method,
          // Only path and query: the origin is the pinned one, whatever the SDK built.
          url: `${url.pathname}${url.search}`,
          headers: { ...req.headers },
          data: req.body,
          // The body stays text: the SDK parses it, this module only caps and classifies it.
          responseType: 'text',
        },
        ctx,
      );
      const text = typeof answer.data === 'string' ? answer.data : '';
      if (!isSuccess(answer)) throw options.answerError(operation, parsedAnswer(answer.status, answer.headers, text));
      return { status: answer.status, headers: answer.headers, body: text };
    } catch (err) {
      const failure =
        err instanceof PartnerError
          ? err
          : new PartnerError({ partner, operation, kind: 'retryable', code: 'connection_error' });
      if (state) state.failure = failure;
      throw failure;
    }
  }

  return {
    request,
    async run(operation, ctx, call) {
      if (ctx.signal?.aborted) throw new PartnerError({ partner, operation, kind: 'retryable', code: 'aborted' });
      const state: RunState = { operation, ctx };
      try {
        return await calls.run(state, call);
      } catch (err) {
        throw state.failure ?? err;
      }
    },
  };
}
