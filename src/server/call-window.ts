/**
 * Calls per partner over a sliding window (the last minute), for the dashboard's rate use: how close
 * each partner runs to its limit now. Counted in one-second buckets so memory stays constant however
 * many calls go out.
 */
export class CallWindow {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Map<number, number>>();

  constructor(windowMs: number, now: () => number = Date.now) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  get windowSeconds(): number {
    return this.#windowMs / 1_000;
  }

  record(partner: string, calls = 1): void {
    const second = Math.floor(this.#now() / 1_000);
    const buckets = this.#buckets.get(partner) ?? new Map<number, number>();
    this.#buckets.set(partner, buckets);
    buckets.set(second, (buckets.get(second) ?? 0) + calls);
    this.#drop(buckets);
  }

  /** Calls in the window, per second on average. */
  perSecond(partner: string): number {
    const buckets = this.#buckets.get(partner);
    if (!buckets) return 0;
    this.#drop(buckets);
    let total = 0;
    for (const n of buckets.values()) total += n;
    return total / this.windowSeconds;
  }

  #drop(buckets: Map<number, number>): void {
    const oldest = Math.floor((this.#now() - this.#windowMs) / 1_000);
    for (const second of buckets.keys()) if (second <= oldest) buckets.delete(second);
  }
}
