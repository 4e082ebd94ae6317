import { randomUUID } from 'node:crypto';
import type { Sql } from '../store/database.ts';

/**
 * A per-partner limit on calls in flight that holds across worker processes sharing one PostgreSQL
 * database (Mailchimp allows 10 connections per account, not per process). Each allowed call is a
 * row; a worker leases a free one (SKIP LOCKED, so workers never wait on each other's locks) for the
 * length of its call. A process that dies mid-call holds its slot only until the lease runs out.
 */
export class ConcurrencySlots {
  readonly #sql: Sql;
  readonly #limits: ReadonlyMap<string, number>;
  readonly #holder = randomUUID();
  readonly #leaseSeconds: number;

  constructor(sql: Sql, limits: ReadonlyMap<string, number>, leaseSeconds = 300) {
    this.#sql = sql;
    this.#limits = limits;
    this.#leaseSeconds = leaseSeconds;
  }

  /** Makes the slot rows match the limits (a limit lowered since the last start drops slots). */
  async ensure(): Promise<void> {
    for (const [partner, max] of this.#limits) {
      await this.#sql.query(`insert into partner_slots (partner, slot) select $1, generate_series(1, $2::int) on conflict do nothing`, [partner, max]);
      await this.#sql.query(`delete from partner_slots where partner = $1 and slot > $2::int`, [partner, max]);
    }
  }

  async run<T>(partner: string, task: () => Promise<T>): Promise<T> {
    if (!this.#limits.has(partner)) return task();
    const slot = await this.#acquire(partner);
    try {
      return await task();
    } finally {
      await this.#sql.query(`update partner_slots set holder = null, expires_at = null where partner = $1 and slot = $2 and holder = $3`, [partner, slot, this.#holder]);
    }
  }

  async #acquire(partner: string): Promise<number> {
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      const [row] = await this.#sql.query<{ slot: number }>(
        `update partner_slots set holder = $2, expires_at = clock_timestamp() + make_interval(secs => $3::int)
         where (partner, slot) = (
           select partner, slot from partner_slots
           where partner = $1 and (holder is null or expires_at < clock_timestamp())
           order by slot limit 1 for update skip locked)
         returning slot`,
        [partner, this.#holder, this.#leaseSeconds],
      );
      if (row) return row.slot;
      await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
    }
  }
}
