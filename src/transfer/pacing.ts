import type { ConcurrencySlots } from './concurrency-slots.ts';
import type { PartnerLimits, RateLimiter } from './rate-limit.ts';

/**
 * Everything that decides when a partner call may go: the partner's rate (shared by every worker
 * process), a Retry-After pause it asked for, and its limit on calls in flight (per process, and on
 * PostgreSQL across processes). Every outbound call is run through run(): syncs, batches, erasures,
 * actions and live fetches alike.
 */
export class Pacing {
  readonly #limiter: RateLimiter;
  readonly #semaphores: ReadonlyMap<string, Semaphore>;
  readonly #slots: ConcurrencySlots | undefined;

  constructor(limiter: RateLimiter, limits: ReadonlyMap<string, PartnerLimits>, slots?: ConcurrencySlots) {
    this.#limiter = limiter;
    this.#semaphores = new Map([...limits].map(([p, l]) => [p, new Semaphore(l.maxConcurrent ?? 10)]));
    this.#slots = slots;
  }

  /**
   * Runs the calls, each when the partner may take it. A partner with a rate: each call takes its slot
   * just before it goes, so a Retry-After pause set by one call holds the next ones back. Without a
   * rate, one reservation for all of them honours a pause. When the signal aborts, waiting calls
   * stop waiting at once (each call checks the signal itself and is then not made).
   */
  async run<T>(partner: string, calls: readonly (() => Promise<T>)[], signal?: AbortSignal): Promise<T[]> {
    const paced = this.#limiter.hasRate(partner);
    const reservedAt = performance.now();
    const waits = paced ? [] : await this.#limiter.reserve(partner, calls.length);
    const semaphore = this.#semaphores.get(partner) ?? new Semaphore(10);
    const tasks = calls.map(
      (call, i) => () =>
        semaphore.run(async () => {
          if (paced) await this.#limiter.acquire(partner, signal);
          else await this.#limiter.sleep(waits[i]! - (performance.now() - reservedAt), signal);
          return call();
        }),
    );
    // Across processes (PostgreSQL), the calls run through the shared slots they lease at once.
    return this.#slots ? this.#slots.runAll(partner, tasks) : Promise.all(tasks.map((task) => task()));
  }

  /** The partner said "slow down": no worker calls it again before `ms` from now. */
  pause(partner: string, ms: number): Promise<void> {
    return this.#limiter.pause(partner, ms);
  }

  hasRate(partner: string): boolean {
    return this.#limiter.hasRate(partner);
  }
}

/** Runs at most `limit` tasks at once (per process). */
export class Semaphore {
  #available: number;
  readonly #waiting: (() => void)[] = [];
  constructor(limit: number) {
    this.#available = Math.max(1, limit);
  }
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#available > 0) this.#available--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#available++;
    }
  }
}
