import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Sql } from '../store/database.ts';

/**
 * A per-partner limit on calls in flight that holds across worker processes sharing one PostgreSQL
 * database (Mailchimp allows 10 connections per account, not per process). Each allowed call is a
 * row; a worker leases free ones (SKIP LOCKED, so workers never wait on each other's locks) for the
 * length of a batch's calls. A process that dies mid-batch holds its slots only until the lease runs out:
 * the gateway makes that its job heartbeat (10 s), so the dead one's slots are free by the time pg-boss
 * retries its jobs. (A lease of minutes would leave its retried jobs, and every other worker's, waiting
 * that long for a slot.) Renewed every third of it.
 */
export class ConcurrencySlots {
  readonly #sql: Sql;
  readonly #limits: ReadonlyMap<string, number>;
  /** Host and pid first, so an operator (or a test) can tell which worker process holds a slot. */
  readonly #holder = `${hostname()}/${process.pid}/${randomUUID()}`;
  readonly #leaseSeconds: number;

  constructor(sql: Sql, limits: ReadonlyMap<string, number>, leaseSeconds = 10) {
    this.#sql = sql;
    this.#limits = limits;
    this.#leaseSeconds = leaseSeconds;
  }

  /** Makes the slot rows match the limits (a limit lowered since the last start drops slots). */
  async ensure(): Promise<void> {
    for (const [partner, max] of this.#limits) {
      await this.#sql.query(
        `insert into partner_slots (partner, slot) select $1, generate_series(1, $2::int) on conflict do nothing`,
        [partner, max],
      );
      await this.#sql.query(`delete from partner_slots where partner = $1 and slot > $2::int`, [partner, max]);
    }
  }

  /**
   * Runs the tasks with at most one in flight per slot it leases: up to one slot per task, taken in
   * one statement (waiting with backoff while none is free), renewed while the tasks run (a batch may
   * outlast one lease) and freed together in one statement at the end, not waited for. Two statements per batch
   * rather than two per call: on an unthrottled partner the per-call leases cost more database time
   * than the calls themselves. A lane that runs out of tasks keeps its slot until the batch ends,
   * which only errs on the side of fewer calls in flight.
   */
  async runAll<T>(partner: string, tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
    if (!this.#limits.has(partner)) return Promise.all(tasks.map((task) => task()));
    if (tasks.length === 0) return [];
    const slots = await this.#acquire(partner, tasks.length);
    const renew = setInterval(
      () =>
        void this.#sql
          .query(
            `update partner_slots set expires_at = clock_timestamp() + make_interval(secs => $4::int) where partner = $1 and slot = any($2::int[]) and holder = $3`,
            [partner, slots, this.#holder, this.#leaseSeconds],
          )
          .catch(() => undefined),
      (this.#leaseSeconds * 1000) / 3,
    );
    renew.unref();
    const results: T[] = new Array(tasks.length);
    let next = 0;
    try {
      // allSettled: the slots are freed only once no lane has a call in flight.
      const lanes = await Promise.allSettled(
        slots.map(async () => {
          while (next < tasks.length) {
            const i = next++;
            results[i] = await tasks[i]!();
          }
        }),
      );
      const failed = lanes.find((lane) => lane.status === 'rejected');
      if (failed) throw failed.reason;
      return results;
    } finally {
      clearInterval(renew);
      // Not awaited: the batch's outcomes need not wait for it, nor the partner's next batch for its
      // calls (a slot is only ever freed late, which errs on the side of fewer calls in flight). One
      // that fails is freed when its lease runs out, as a dead process's are.
      void this.#sql
        .query(
          `update partner_slots set holder = null, expires_at = null where partner = $1 and slot = any($2::int[]) and holder = $3`,
          [partner, slots, this.#holder],
        )
        .catch(() => undefined);
    }
  }

  /** Leases up to `wanted` free slots (at least one), in one statement per try. */
  async #acquire(partner: string, wanted: number): Promise<number[]> {
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      const rows = await this.#sql.query<{ slot: number }>(
        `update partner_slots set holder = $2, expires_at = clock_timestamp() + make_interval(secs => $3::int)
         where (partner, slot) in (
           select partner, slot from partner_slots
           where partner = $1 and (holder is null or expires_at < clock_timestamp())
           order by slot limit $4 for update skip locked)
         returning slot`,
        [partner, this.#holder, this.#leaseSeconds, wanted],
      );
      if (rows.length > 0) return rows.map((r) => r.slot);
      await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
    }
  }
}
