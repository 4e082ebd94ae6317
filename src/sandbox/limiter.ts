import type { EmulatorLimits, EmulatorRequest } from '../emulator.ts';

export type Admission =
  | { readonly ok: true; readonly counted: boolean; release(): void }
  | { readonly ok: false; readonly retryAfterSeconds: number; readonly exceeded: readonly LimitKind[] };

export type LimitKind = 'perSecond' | 'window' | 'maxConcurrent';

const noop = (): void => undefined;

/**
 * Enforces one partner's documented limits. Every check and its commit happen in one synchronous
 * call, so concurrent requests on the event loop cannot both take the last slot.
 */
export class Limiter {
  readonly #limits: EmulatorLimits;
  readonly #now: () => number;
  #tokens = 0;
  #refilledAt = 0;
  #windowStart = 0;
  #windowCount = 0;
  #inFlight = 0;

  /** `now` is epoch milliseconds: fixed windows align to the wall clock, as the partners' do. */
  constructor(limits: EmulatorLimits, now: () => number = Date.now) {
    validateLimits(limits);
    this.#limits = limits;
    this.#now = now;
    this.reset();
  }

  /** Requests admitted and not yet released (only those the `counts` filter counts). */
  get inFlight(): number {
    return this.#inFlight;
  }

  admit(request: EmulatorRequest): Admission {
    if (!this.#counts(request)) return { ok: true, counted: false, release: noop };
    const now = this.#now();
    const { perSecond, window, maxConcurrent } = this.#limits;
    const exceeded: LimitKind[] = [];
    let waitMs = 0;

    if (perSecond !== undefined) {
      this.#refill(now, perSecond);
      if (this.#tokens < 1) {
        exceeded.push('perSecond');
        waitMs = Math.max(waitMs, ((1 - this.#tokens) / perSecond) * 1000);
      }
    }
    if (window !== undefined) {
      const start = Math.floor(now / window.ms) * window.ms;
      if (start !== this.#windowStart) {
        this.#windowStart = start;
        this.#windowCount = 0;
      }
      if (this.#windowCount >= window.max) {
        exceeded.push('window');
        waitMs = Math.max(waitMs, start + window.ms - now);
      }
    }
    if (maxConcurrent !== undefined && this.#inFlight >= maxConcurrent) {
      // No way to know when a slot frees: the shortest wait Retry-After can say.
      exceeded.push('maxConcurrent');
    }
    if (exceeded.length > 0) {
      // Retry-After is whole seconds; rounding down would send clients back before a slot frees,
      // and 0 would invite a busy loop.
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)), exceeded };
    }

    if (perSecond !== undefined) this.#tokens -= 1;
    if (window !== undefined) this.#windowCount += 1;
    this.#inFlight += 1;
    let released = false;
    return {
      ok: true,
      counted: true,
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight -= 1;
      },
    };
  }

  /** Starts the rate and the window afresh; requests in flight keep their slots until they release. */
  reset(): void {
    this.#tokens = this.#capacity();
    this.#refilledAt = this.#now();
    this.#windowStart = Number.NaN;
    this.#windowCount = 0;
  }

  #counts(request: EmulatorRequest): boolean {
    const { counts } = this.#limits;
    if (counts === undefined) return true;
    try {
      return counts(request);
    } catch {
      // A broken filter must not let traffic past the limits.
      return true;
    }
  }

  // A burst of one second's worth, as the partners allow; at least one so a rate below 1/s admits anything.
  #capacity(): number {
    return Math.max(1, this.#limits.perSecond ?? 1);
  }

  #refill(now: number, perSecond: number): void {
    const elapsed = Math.max(0, now - this.#refilledAt);
    this.#tokens = Math.min(this.#capacity(), this.#tokens + (elapsed / 1000) * perSecond);
    this.#refilledAt = now;
  }
}

function validateLimits(limits: EmulatorLimits): void {
  const positive = (value: number | undefined, name: string): void => {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new RangeError(`limits.${name} must be a positive number, got ${value}`);
    }
  };
  positive(limits.perSecond, 'perSecond');
  positive(limits.window?.ms, 'window.ms');
  positive(limits.window?.max, 'window.max');
  positive(limits.maxConcurrent, 'maxConcurrent');
}
