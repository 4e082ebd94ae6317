import type { Sql } from '../store/database.ts';

export interface PartnerLimits {
  /** Steady calls per second across every worker process. Unset: no rate limit. */
  readonly perSecond?: number;
  /** Calls that may go at once after a quiet spell. Default: perSecond (one second's worth). */
  readonly burst?: number;
  /** Calls in flight at once in this process. */
  readonly maxConcurrent?: number;
}

/**
 * A per-partner rate limit that holds across every worker process: GCRA on a row in the shared
 * database. One atomic UPDATE reserves the next slot and returns how long to wait for it, so
 * workers never contend on anything but that row, and a Retry-After from the partner pushes every
 * worker's next slot out at once.
 */
export class RateLimiter {
  readonly #sql: Sql;
  readonly #limits: ReadonlyMap<string, PartnerLimits>;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(sql: Sql, limits: ReadonlyMap<string, PartnerLimits>, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))) {
    this.#sql = sql;
    this.#limits = limits;
    this.#sleep = sleep;
  }

  /** Creates the shared rows once, so acquire() is a single UPDATE. */
  async ensure(partners: readonly string[]): Promise<void> {
    await this.#sql.query(`insert into rate_limits (partner) select unnest($1::text[]) on conflict (partner) do nothing`, [[...partners]]);
  }

  /**
   * Waits until `calls` calls to the partner may go. GCRA: the theoretical arrival time (tat) moves
   * on by `calls / perSecond` per reservation; a caller may go at tat minus the burst tolerance, and
   * never before a pause the partner asked for.
   */
  async acquire(partner: string, calls = 1): Promise<void> {
    const limits = this.#limits.get(partner);
    const emission = limits?.perSecond ? calls / limits.perSecond : 0;
    const tolerance = limits?.perSecond ? Math.max(0, (limits.burst ?? limits.perSecond) - calls) / limits.perSecond : 0;
    const [row] = await this.#sql.query<{ wait_ms: number }>(
      `update rate_limits set tat = greatest(tat, clock_timestamp(), coalesce(paused_until, '-infinity')) + make_interval(secs => $2)
       where partner = $1
       returning greatest(0, extract(epoch from (greatest(tat - make_interval(secs => $2) - make_interval(secs => $3), coalesce(paused_until, '-infinity')) - clock_timestamp())) * 1000)::float8 as wait_ms`,
      [partner, emission, tolerance],
    );
    const wait = row?.wait_ms ?? 0;
    if (wait > 0) await this.#sleep(wait);
  }

  /** The partner said "slow down": no worker calls it again before `ms` from now. */
  async pause(partner: string, ms: number): Promise<void> {
    await this.#sql.query(
      `insert into rate_limits as r (partner, paused_until) values ($1, clock_timestamp() + make_interval(secs => $2))
       on conflict (partner) do update set paused_until = greatest(coalesce(r.paused_until, '-infinity'), excluded.paused_until)`,
      [partner, ms / 1000],
    );
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
