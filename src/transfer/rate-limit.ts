import type { Sql } from '../store/database.ts';

export interface PartnerLimits {
  /** Steady calls per second across every worker process. Unset: no rate limit. */
  readonly perSecond?: number;
  /**
   * Calls that may go at once after a quiet spell. Default 1: calls are spaced evenly, which leaves the
   * partner's own burst allowance as the margin for clock and network jitter.
   */
  readonly burst?: number;
  /**
   * Share of the rate kept spare (default 0.05: pace at 95% of perSecond). A partner counts arrivals on
   * its own clock, and a call that leaves a few milliseconds late (a busy event loop, a slow database
   * round trip) brings the next one that much closer to it; a partner that allows no burst (Twilio at
   * 1/s) answers that with a 429. The spare share absorbs the jitter.
   */
  readonly headroom?: number;
  /** Calls in flight at once, across every worker process sharing the database. */
  readonly maxConcurrent?: number;
}

export const DEFAULT_HEADROOM = 0.05;
/** Timers fire a millisecond or so late as a rule; only lateness beyond that moves the schedule. */
const MIN_LATE_MS = 2;

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
  /** Per partner, this process's copy of the partner's bucket (see #takeLocal). */
  readonly #local = new Map<string, { tokens: number; at: number }>();

  constructor(
    sql: Sql,
    limits: ReadonlyMap<string, PartnerLimits>,
    sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  ) {
    for (const [partner, { perSecond, burst, headroom }] of limits) {
      if (perSecond !== undefined && !(perSecond > 0))
        throw new RangeError(`limits.${partner}.perSecond must be a positive number, got ${perSecond}`);
      if (burst !== undefined && !(burst >= 1))
        throw new RangeError(`limits.${partner}.burst must be at least 1, got ${burst}`);
      if (headroom !== undefined && !(headroom >= 0 && headroom < 1))
        throw new RangeError(`limits.${partner}.headroom must be at least 0 and below 1, got ${headroom}`);
    }
    this.#sql = sql;
    this.#limits = limits;
    this.#sleep = sleep;
  }

  /** Creates the shared rows once, so acquire() is a single UPDATE. */
  async ensure(partners: readonly string[]): Promise<void> {
    await this.#sql.query(
      `insert into rate_limits (partner) select unnest($1::text[]) on conflict (partner) do nothing`,
      [[...partners]],
    );
  }

  /**
   * Reserves `calls` consecutive slots in one statement and returns, per call, how many ms from now
   * it may go. GCRA: the theoretical arrival time (tat) moves on by 1/perSecond per call; call i may go
   * at the reserved base + i/perSecond minus the burst tolerance, and never before a pause the
   * partner asked for. Without a rate limit only a pause delays the calls.
   */
  async reserve(partner: string, calls: number): Promise<number[]> {
    return (await this.#reserve(partner, calls)).waits;
  }

  /** reserve(), and the tat it left (to give the slots back when they go unused). */
  async #reserve(partner: string, calls: number): Promise<{ waits: number[]; tat: string | null }> {
    if (calls <= 0) return { waits: [], tat: null };
    const interval = this.#interval(partner);
    // No rate: only a pause can hold the calls back. A read, not the update below: no row lock that
    // every worker process's batches queue on, and no commit to wait for.
    if (interval === 0) {
      const [row] = await this.#sql.query<{ pause_ms: number | null }>(
        `select (extract(epoch from (paused_until - clock_timestamp())) * 1000)::float8 as pause_ms
         from rate_limits where partner = $1`,
        [partner],
      );
      return { waits: new Array<number>(calls).fill(Math.max(0, row?.pause_ms ?? 0)), tat: null };
    }
    const tolerance = Math.max(0, (this.#limits.get(partner)?.burst ?? 1) - 1) * interval;
    const [row] = await this.#sql.query<{ base_ms: number; pause_ms: number; tat: string }>(
      `with old as (select tat, paused_until from rate_limits where partner = $1 for update)
       update rate_limits r set tat = greatest(old.tat, clock_timestamp(), coalesce(old.paused_until, '-infinity')) + make_interval(secs => $2::float8 * $3::int)
       from old where r.partner = $1
       returning (extract(epoch from (greatest(old.tat, clock_timestamp(), coalesce(old.paused_until, '-infinity')) - clock_timestamp())) * 1000)::float8 as base_ms,
         coalesce((extract(epoch from (old.paused_until - clock_timestamp())) * 1000)::float8, 0) as pause_ms,
         r.tat::text as tat`,
      [partner, interval, calls],
    );
    const base = row?.base_ms ?? 0;
    const pause = Math.max(0, row?.pause_ms ?? 0);
    return {
      waits: Array.from({ length: calls }, (_, i) => Math.max(pause, base + (i * interval - tolerance) * 1000, 0)),
      tat: row?.tat ?? null,
    };
  }

  /**
   * Gives an unused slot back when no reservation was made after it (tat is still where this one left
   * it): a batch that gave up must not push every worker's next calls later by the slots it never
   * used (with a short expiry, each cut batch pushed the next past its own deadline, until its jobs
   * were dead letters never sent). A slot with later ones after it stays taken: moving tat back then
   * would put two calls on one slot.
   */
  async #giveBack(partner: string, tat: string | null): Promise<void> {
    if (tat === null) return;
    await this.#sql.query(
      `update rate_limits set tat = tat - make_interval(secs => $2::float8) where partner = $1 and tat = $3::timestamptz`,
      [partner, this.#interval(partner), tat],
    );
  }

  /** Seconds between two calls' slots; 0 without a rate. */
  #interval(partner: string): number {
    const limits = this.#limits.get(partner);
    return limits?.perSecond ? 1 / (limits.perSecond * (1 - this.#headroom(partner))) : 0;
  }

  /**
   * How late (ms) a call may leave before the next one, on time, arrives too soon after it: the
   * partner's own burst allowance beyond one call (taken as one second's worth, as token buckets and
   * the partners' limits grant; none at 1/s) plus the headroom's slack. Infinite without a rate.
   */
  #lateTolerance(partner: string): number {
    const perSecond = this.#limits.get(partner)?.perSecond;
    if (!perSecond) return Number.POSITIVE_INFINITY;
    const interval = this.#interval(partner) * 1000;
    return Math.max(MIN_LATE_MS, (Math.max(0, perSecond - 1) / perSecond) * 1000 + interval * this.#headroom(partner));
  }

  #headroom(partner: string): number {
    return this.#limits.get(partner)?.headroom ?? DEFAULT_HEADROOM;
  }

  /** Whether the partner has a rate to keep (then each call takes its own slot as it is about to go). */
  hasRate(partner: string): boolean {
    return Boolean(this.#limits.get(partner)?.perSecond);
  }

  /**
   * Waits until one call to the partner may go. A call that leaves so late (a busy event loop, a slow
   * statement) that the next one, on its slot, would reach the partner sooner than the partner
   * tolerates moves the schedule on from now: the next call keeps a whole interval from this one.
   */
  async acquire(partner: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      // Given up (the batch lost its claim or reached its deadline): the caller makes no call, so it
      // takes no slot either.
      if (signal?.aborted) return;
      const {
        waits: [wait = 0],
        tat,
      } = await this.#reserve(partner, 1);
      const due = performance.now() + wait;
      if (wait > 0) {
        await this.sleep(wait, signal);
        if (signal?.aborted) return this.#giveBack(partner, tat);
        // Another worker may have been told to pause while this one slept on its slot: a reservation
        // made before the pause must not go out when it wakes (calls queued during a pause would all
        // leave together when it ends), so a paused partner's slot is taken again, after the pause.
        if (await this.#pausedNow(partner)) continue;
      }
      await this.#noteLate(partner, due);
      await this.#takeLocal(partner, signal);
      return;
    }
  }

  /**
   * The partner counts calls as they arrive, against a bucket of one second's worth. The shared
   * schedule hands slots out ahead (every call waiting in a batch holds one), so when this process's
   * event loop is held past several slots (a PGlite query, a long statement), their calls would all
   * leave together as it frees, and the on-time call after them would find the partner's bucket
   * empty: a 429. So each call, as it is about to go, also takes a token from this process's copy of
   * the partner's bucket, filled at the paced rate and one token smaller than the partner's: a request
   * written later than it was let go (the loop held again between the two) still finds one spare
   * there. (As large as the partner's, Auth0 still saw 1 of 17 answered 429 on PGlite.)
   */
  async #takeLocal(partner: string, signal: AbortSignal | undefined): Promise<void> {
    const limits = this.#limits.get(partner);
    if (!limits?.perSecond) return;
    const perMs = (limits.perSecond * (1 - this.#headroom(partner))) / 1000;
    const capacity = Math.max(1, limits.burst ?? 1, Math.floor(limits.perSecond) - 1);
    for (;;) {
      const now = performance.now();
      const bucket = this.#local.get(partner) ?? { tokens: capacity, at: now };
      bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.at) * perMs);
      bucket.at = now;
      this.#local.set(partner, bucket);
      if (signal?.aborted) return;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return;
      }
      await this.sleep((1 - bucket.tokens) / perMs, signal);
    }
  }

  async #pausedNow(partner: string): Promise<boolean> {
    const [row] = await this.#sql.query<{ paused: boolean }>(
      `select coalesce(paused_until > clock_timestamp(), false) as paused from rate_limits where partner = $1`,
      [partner],
    );
    return row?.paused ?? false;
  }

  async #noteLate(partner: string, due: number): Promise<void> {
    const late = performance.now() - due;
    if (late > this.#lateTolerance(partner)) {
      await this.#sql.query(
        `update rate_limits set tat = greatest(tat, clock_timestamp() + make_interval(secs => $2::float8)) where partner = $1`,
        [partner, this.#interval(partner)],
      );
    }
  }

  /** Sleeps `ms`, or less when the signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0 || signal?.aborted) return Promise.resolve();
    if (!signal) return this.#sleep(ms);
    return new Promise<void>((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      void this.#sleep(ms).then(done);
    });
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
