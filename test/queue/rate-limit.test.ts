import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter, type PartnerLimits } from '../../src/transfer/rate-limit.ts';
import { migrate } from '../../src/store/migrate.ts';
import { engine, testDatabase } from '../support/database.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function limiterWith(
  limits: Record<string, PartnerLimits>,
  sleep?: (ms: number) => Promise<void>,
): Promise<RateLimiter> {
  const db = await testDatabase();
  cleanups.push(async () => {
    await db.close();
    await db.drop();
  });
  await migrate(db);
  const limiter = new RateLimiter(db, new Map(Object.entries(limits)), sleep);
  await limiter.ensure(Object.keys(limits));
  return limiter;
}

const gaps = (waits: readonly number[]) => waits.slice(1).map((w, i) => w - waits[i]!);

describe(`RateLimiter (${engine})`, () => {
  it('spaces calls a little wider than the partner limit, so arrival jitter cannot reach it', async () => {
    const limiter = await limiterWith({ twilio: { perSecond: 1 } });
    const waits = await limiter.reserve('twilio', 4);
    expect(waits[0]).toBe(0);
    // 95% of 1/s: 1,052.6 ms apart, not 1,000.
    for (const gap of gaps(waits)) expect(gap).toBeCloseTo(1052.63, 1);
    // The next reservation continues where the last one ended, not from now.
    const [next = 0] = await limiter.reserve('twilio', 1);
    expect(next).toBeGreaterThan(3 * 1052);
  });

  it('paces exactly at the limit when the host sets no headroom, and lets a burst go at once', async () => {
    const limiter = await limiterWith({
      exact: { perSecond: 10, headroom: 0 },
      bursty: { perSecond: 10, burst: 3, headroom: 0 },
    });
    for (const gap of gaps(await limiter.reserve('exact', 3))) expect(gap).toBeCloseTo(100, 1);
    const bursty = await limiter.reserve('bursty', 5);
    expect(bursty.slice(0, 3)).toEqual([0, 0, 0]);
    // The fourth waits one interval past the burst (give or take the microseconds between the statement's two clock readings).
    expect(bursty[3]).toBeGreaterThan(99);
    expect(bursty[3]).toBeLessThan(120);
  });

  it('a call that leaves late to a partner with no burst moves the schedule on, so the next keeps a whole interval from it', async () => {
    // Every wait overruns by 150 ms, as on a busy event loop.
    const lateSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms + 150));
    const limiter = await limiterWith({ twilio: { perSecond: 1, headroom: 0 } }, lateSleep);
    await limiter.acquire('twilio');
    await limiter.acquire('twilio'); // due 1 s after the first, leaves about 1.15 s after it
    const left = performance.now();
    const [next = 0] = await limiter.reserve('twilio', 1);
    // Kept to the missed slot, the next call could go 850 ms after the late one: a 429 at 1/s.
    expect(next + (performance.now() - left)).toBeGreaterThan(980);
  });

  it('a partner that allows a burst keeps the schedule through small delays, so the rate catches up', async () => {
    const lateSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms + 50));
    const limiter = await limiterWith({ stripe: { perSecond: 10, headroom: 0 } }, lateSleep);
    await limiter.acquire('stripe');
    await limiter.acquire('stripe'); // 50 ms late: well inside a 10/s partner's one-second burst
    const left = performance.now();
    const [next = 0] = await limiter.reserve('stripe', 1);
    expect(next + (performance.now() - left)).toBeLessThan(80);
  });

  it('calls whose slots passed while the event loop was held leave no faster than the partner refills', async () => {
    // Auth0 at 2/s counts a bucket of two: three calls at once is a 429.
    const limiter = await limiterWith({ auth0: { perSecond: 2 } });
    const went: number[] = [];
    const calls = [0, 1, 2, 3].map(() => limiter.acquire('auth0').then(() => went.push(performance.now())));
    await new Promise((r) => setTimeout(r, 300)); // every call holds its slot: now, +526, +1,053, +1,579 ms
    const held = performance.now() + 1_800; // a long PGlite query holds the loop past the three later slots
    while (performance.now() < held);
    await Promise.all(calls);
    expect(went).toHaveLength(4);
    // Kept one token short of the partner's bucket of two: each keeps a paced interval after the stall.
    expect(went[3]! - went[1]!).toBeGreaterThan(500);
  });

  it('refuses limits that make no sense, naming the partner and the setting', async () => {
    await expect(limiterWith({ stripe: { perSecond: 25, headroom: 1 } })).rejects.toThrow(
      'limits.stripe.headroom must be at least 0 and below 1, got 1',
    );
    await expect(limiterWith({ auth0: { perSecond: 0 } })).rejects.toThrow(
      'limits.auth0.perSecond must be a positive number, got 0',
    );
    await expect(limiterWith({ twilio: { perSecond: 1, burst: 0 } })).rejects.toThrow(
      'limits.twilio.burst must be at least 1, got 0',
    );
  });

  it('holds every call back until a pause the partner asked for has passed', async () => {
    const limiter = await limiterWith({ stripe: { perSecond: 25 }, unrated: {} });
    await limiter.pause('stripe', 2_000);
    await limiter.pause('unrated', 2_000);
    const [stripe = 0] = await limiter.reserve('stripe', 1);
    const [unrated = 0] = await limiter.reserve('unrated', 1);
    expect(stripe).toBeGreaterThan(1_500);
    expect(unrated).toBeGreaterThan(1_500);
    expect(limiter.hasRate('unrated')).toBe(false);
  });
});
