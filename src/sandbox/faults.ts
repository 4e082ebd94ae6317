import type { EmulatorResponse, PartnerEmulator } from '../emulator.ts';
import { streamFor, type Random } from './prng.ts';

export interface FaultSpec {
  /** Share of requests answered 503 (0..1). */
  readonly errorRate?: number;
  /** Share of requests never answered: the socket is held until the client gives up. */
  readonly timeoutRate?: number;
  /** Share of requests whose socket is destroyed without an answer. */
  readonly dropRate?: number;
  /** Added before each request is handled: fixed, or uniform in [min, max]. */
  readonly latencyMs?: number | { readonly min: number; readonly max: number };
  /**
   * Timeouts and drops strike after the emulator handled the request: the partner acted but the
   * answer is lost (the "outcome unknown" case). Default false: the partner never saw it.
   */
  readonly afterHandling?: boolean;
  /** Retry-After of an injected 503, in seconds. Default 1. */
  readonly retryAfterSeconds?: number;
}

/** Keyed by partner name; '*' applies to every partner, and a partner's own entry overrides it field by field. */
export type FaultConfig = Readonly<Record<string, FaultSpec>>;

export type FaultKind = 'error' | 'timeout' | 'drop';

export interface FaultDraw {
  readonly fault: FaultKind | null;
  readonly latencyMs: number;
}

/**
 * Not in the emulator contract yet: an emulator may offer the partner's own 503 so an injected
 * error reaches the SDK in the shape it parses. Without it the sandbox sends a plain 503.
 */
export interface UnavailableShape {
  unavailable?(retryAfterSeconds: number): EmulatorResponse;
}

export function specFor(config: FaultConfig, partner: string): FaultSpec {
  return { ...config['*'], ...config[partner] };
}

/** Throws on a partner name that is not served (a typo would silently inject nothing) or on bad numbers. */
export function validateFaults(config: FaultConfig, partners: readonly string[]): void {
  for (const [key, spec] of Object.entries(config)) {
    if (key !== '*' && !partners.includes(key)) {
      throw new RangeError(`faults: no emulator for partner '${key}' (served: ${partners.join(', ')})`);
    }
    const rate = (value: number | undefined, name: string): number => {
      if (value === undefined) return 0;
      if (!(Number.isFinite(value) && value >= 0 && value <= 1)) {
        throw new RangeError(`faults.${key}.${name} must be within 0..1, got ${value}`);
      }
      return value;
    };
    const total =
      rate(spec.errorRate, 'errorRate') + rate(spec.timeoutRate, 'timeoutRate') + rate(spec.dropRate, 'dropRate');
    if (total > 1 + 1e-9)
      throw new RangeError(`faults.${key}: errorRate + timeoutRate + dropRate is ${total}, more than 1`);
    const latency = spec.latencyMs;
    const nonNegative = (value: number): boolean => Number.isFinite(value) && value >= 0;
    if (latency !== undefined) {
      const ok =
        typeof latency === 'number'
          ? nonNegative(latency)
          : nonNegative(latency.min) && nonNegative(latency.max) && latency.min <= latency.max;
      if (!ok)
        throw new RangeError(`faults.${key}.latencyMs must be >= 0 (and min <= max), got ${JSON.stringify(latency)}`);
    }
    if (
      spec.retryAfterSeconds !== undefined &&
      !(Number.isInteger(spec.retryAfterSeconds) && spec.retryAfterSeconds >= 0)
    ) {
      throw new RangeError(
        `faults.${key}.retryAfterSeconds must be a whole number >= 0, got ${spec.retryAfterSeconds}`,
      );
    }
  }
}

/** Draws each request's fault and latency from the partner's seeded streams. */
export class FaultInjector {
  readonly #seed: number;
  readonly #partner: string;
  #spec: FaultSpec;
  #faultStream!: Random;
  #latencyStream!: Random;

  constructor(spec: FaultSpec, seed: number, partner: string) {
    this.#spec = spec;
    this.#seed = seed;
    this.#partner = partner;
    this.rewind();
  }

  get spec(): FaultSpec {
    return this.#spec;
  }

  set spec(spec: FaultSpec) {
    this.#spec = spec;
  }

  /** Back to the start of the streams, so a run after a reset sees the same faults as the first. */
  rewind(): void {
    this.#faultStream = streamFor(this.#seed, `${this.#partner}/faults`);
    this.#latencyStream = streamFor(this.#seed, `${this.#partner}/latency`);
  }

  next(): FaultDraw {
    const { errorRate = 0, timeoutRate = 0, dropRate = 0, latencyMs = 0 } = this.#spec;
    let fault: FaultKind | null = null;
    if (errorRate + timeoutRate + dropRate > 0) {
      const u = this.#faultStream();
      if (u < errorRate) fault = 'error';
      else if (u < errorRate + timeoutRate) fault = 'timeout';
      else if (u < errorRate + timeoutRate + dropRate) fault = 'drop';
    }
    const latency =
      typeof latencyMs === 'number'
        ? latencyMs
        : latencyMs.min + this.#latencyStream() * (latencyMs.max - latencyMs.min);
    return { fault, latencyMs: latency };
  }
}

export function unavailableResponse(
  emulator: PartnerEmulator & UnavailableShape,
  retryAfterSeconds: number,
): EmulatorResponse {
  if (typeof emulator.unavailable === 'function') return emulator.unavailable(retryAfterSeconds);
  return {
    status: 503,
    headers: { 'retry-after': String(retryAfterSeconds) },
    body: { error: { message: 'Service unavailable (sandbox fault injection)' } },
  };
}
