import type { PartnerAdapter } from '../adapter.ts';
import type { Database } from '../store/database.ts';
import { ConcurrencySlots } from './concurrency-slots.ts';
import { Pacing } from './pacing.ts';
import { RateLimiter, type PartnerLimits } from './rate-limit.ts';

/**
 * Pacing for the partners configured: each partner's limits are what its adapter declares (its
 * documented limits) overridden by the host's. PGlite serves one process, so the in-process limit on
 * calls in flight is the whole truth there; on PostgreSQL every worker process shares leased slots.
 */
export async function createPacing(
  db: Database,
  adapters: readonly PartnerAdapter[],
  overrides: Readonly<Record<string, PartnerLimits>> = {},
  options: { readonly slotLeaseSeconds?: number } = {},
): Promise<Pacing> {
  const limits = new Map<string, PartnerLimits>(
    adapters.map((a) => [a.partner, { ...a.limits, ...overrides[a.partner] }]),
  );
  const limiter = new RateLimiter(db, limits);
  await limiter.ensure([...limits.keys()]);
  const bounded = [...limits].flatMap(([p, l]) => (l.maxConcurrent ? [[p, l.maxConcurrent] as const] : []));
  const slots =
    db.engine === 'postgres' ? new ConcurrencySlots(db, new Map(bounded), options.slotLeaseSeconds) : undefined;
  await slots?.ensure();
  return new Pacing(limiter, limits, slots);
}
