import type { EmulatorRequest, EmulatorResponse, PartnerEmulator } from '../emulator.ts';
import { notifyRequest, notifyResponse } from './exchange-observers.ts';
import { FaultInjector, unavailableResponse, type FaultKind, type FaultSpec, type UnavailableShape } from './faults.ts';
import { Limiter } from './limiter.ts';
import { RequestLog, type RequestLogEntry } from './request-log.ts';
import type { Disposition, Exchange } from './serve.ts';
import { StatsCounter, type PartnerStats } from './stats.ts';

export interface LaneOptions {
  readonly limits: boolean;
  readonly faults: FaultSpec;
  readonly seed: number;
  readonly logLimit: number;
}

const EMULATOR_FAILURE: EmulatorResponse = { status: 500, body: { error: 'emulator failure' } };

/**
 * Everything the sandbox puts between one partner's port and its emulator, in the order a real API
 * would: the limits refuse first, then faults strike, then the emulator answers.
 */
export class PartnerLane {
  readonly emulator: PartnerEmulator;
  readonly limitsEnforced: boolean;
  readonly #limiter: Limiter;
  readonly #faults: FaultInjector;
  readonly #log: RequestLog;
  readonly #stats = new StatsCounter();

  constructor(emulator: PartnerEmulator, options: LaneOptions) {
    this.emulator = emulator;
    this.limitsEnforced = options.limits;
    this.#limiter = new Limiter(emulator.limits);
    this.#faults = new FaultInjector(options.faults, options.seed, emulator.partner);
    this.#log = new RequestLog(options.logLimit);
  }

  get faults(): FaultSpec {
    return this.#faults.spec;
  }

  set faults(spec: FaultSpec) {
    this.#faults.spec = spec;
  }

  readonly handle = async (request: EmulatorRequest, exchange: Exchange): Promise<Disposition> => {
    const arrivedAt = Date.now();
    const started = performance.now();
    this.#stats.arrived();
    let status: number | null = null;
    let rateLimited = false;
    let fault: FaultKind | null = null;
    let latencyMs = 0;
    let handled = false;
    let answer: EmulatorResponse | undefined;
    notifyRequest(this.emulator.partner, request);
    try {
      const admission = this.limitsEnforced ? this.#limiter.admit(request) : undefined;
      if (admission !== undefined && !admission.ok) {
        rateLimited = true;
        const response = this.#call(() => this.emulator.rateLimited(admission.retryAfterSeconds));
        status = response.status;
        answer = response;
        return { kind: 'respond', response };
      }
      try {
        const draw = this.#faults.next();
        fault = draw.fault;
        latencyMs = draw.latencyMs;
        if (latencyMs > 0 && !(await sleep(latencyMs, exchange.signal))) return DROP;
        const { afterHandling = false, retryAfterSeconds = 1 } = this.#faults.spec;
        if (fault === 'error') {
          const response = this.#call(() =>
            unavailableResponse(this.emulator as PartnerEmulator & UnavailableShape, retryAfterSeconds),
          );
          status = response.status;
          answer = response;
          return { kind: 'respond', response };
        }
        if (fault !== null && !afterHandling) return await this.#lose(fault, exchange);
        const response = await this.#callAsync(() => this.emulator.handle(request));
        handled = true;
        if (fault !== null) return await this.#lose(fault, exchange);
        status = response.status;
        answer = response;
        return { kind: 'respond', response };
      } finally {
        admission?.release();
      }
    } finally {
      const entry = this.#log.add({
        method: request.method,
        path: request.path,
        queryKeys: [...new Set(request.query.keys())],
        time: new Date(arrivedAt).toISOString(),
        status: exchange.signal.aborted ? null : status,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        rateLimited,
        fault,
        latencyMs: Math.round(latencyMs * 10) / 10,
        clientAborted: exchange.signal.aborted,
      });
      this.#stats.ended(entry, handled ? arrivedAt : undefined);
      notifyResponse(this.emulator.partner, request, exchange.signal.aborted ? undefined : answer);
    }
  };

  holdings(): ReturnType<PartnerEmulator['holdings']> {
    return this.emulator.holdings();
  }

  requests(since?: number | Date): RequestLogEntry[] {
    return this.#log.list(since);
  }

  stats(): PartnerStats {
    return this.#stats.snapshot();
  }

  reset(): void {
    this.emulator.reset();
    this.#log.clear();
    this.#stats.reset();
    this.#limiter.reset();
    this.#faults.rewind();
  }

  /** A timeout holds the socket until the client gives up; a drop destroys it at once. */
  async #lose(fault: 'timeout' | 'drop', exchange: Exchange): Promise<Disposition> {
    if (fault === 'timeout') await aborted(exchange.signal);
    return DROP;
  }

  #call(produce: () => EmulatorResponse): EmulatorResponse {
    try {
      return produce();
    } catch {
      return EMULATOR_FAILURE;
    }
  }

  async #callAsync(produce: () => EmulatorResponse | Promise<EmulatorResponse>): Promise<EmulatorResponse> {
    try {
      return await produce();
    } catch {
      return EMULATOR_FAILURE;
    }
  }
}

const DROP: Disposition = { kind: 'drop' };

/** Resolves true after `ms`, or false as soon as the client leaves (so its slot frees at once). */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
