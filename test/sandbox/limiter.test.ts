import { describe, expect, it } from 'vitest';
import type { EmulatorRequest } from '../../src/emulator.ts';
import { Limiter, type Admission } from '../../src/sandbox/limiter.ts';

const request = (method = 'POST', path = '/x'): EmulatorRequest => ({
  method,
  path,
  query: new URLSearchParams(),
  headers: {},
  body: Buffer.alloc(0),
});

/** A clock the test moves by hand, so these checks do not depend on the machine's speed. */
function clock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

const admitted = (results: Admission[]): number => results.filter((result) => result.ok).length;

describe('Limiter', () => {
  it('perSecond: a burst of one second, then the rate, with Retry-After until the next token', () => {
    const time = clock();
    const limiter = new Limiter({ perSecond: 20 }, time.now);
    expect(admitted(Array.from({ length: 60 }, () => limiter.admit(request())))).toBe(20);
    const refused = limiter.admit(request());
    expect(refused).toMatchObject({ ok: false, retryAfterSeconds: 1, exceeded: ['perSecond'] });
    time.advance(500);
    expect(admitted(Array.from({ length: 60 }, () => limiter.admit(request())))).toBe(10);
  });

  it('perSecond below 1: Retry-After covers the whole wait', () => {
    const time = clock();
    const limiter = new Limiter({ perSecond: 0.25 }, time.now);
    expect(limiter.admit(request()).ok).toBe(true);
    expect(limiter.admit(request())).toMatchObject({ ok: false, retryAfterSeconds: 4 });
    time.advance(3_000);
    expect(limiter.admit(request())).toMatchObject({ ok: false, retryAfterSeconds: 1 });
    time.advance(1_000);
    expect(limiter.admit(request()).ok).toBe(true);
  });

  it('window: fixed windows aligned to the window length, Retry-After until the window ends', () => {
    const time = clock(1_700_000_000_000); // a multiple of 10 s
    time.advance(7_200); // 2.8 s before the window ends
    const limiter = new Limiter({ window: { ms: 10_000, max: 5 } }, time.now);
    expect(admitted(Array.from({ length: 8 }, () => limiter.admit(request())))).toBe(5);
    expect(limiter.admit(request())).toMatchObject({ ok: false, retryAfterSeconds: 3, exceeded: ['window'] });
    time.advance(2_800); // the next window: a fresh count, though only 2.8 s passed
    expect(admitted(Array.from({ length: 8 }, () => limiter.admit(request())))).toBe(5);
  });

  it('maxConcurrent: counts in-flight requests and frees a slot on release (once)', () => {
    const limiter = new Limiter({ maxConcurrent: 2 });
    const first = limiter.admit(request());
    const second = limiter.admit(request());
    expect(limiter.admit(request())).toMatchObject({ ok: false, retryAfterSeconds: 1, exceeded: ['maxConcurrent'] });
    if (!first.ok || !second.ok) throw new Error('expected admission');
    first.release();
    first.release();
    expect(limiter.inFlight).toBe(1);
    expect(limiter.admit(request()).ok).toBe(true);
    expect(limiter.admit(request()).ok).toBe(false);
  });

  it('counts: requests the filter excludes pass and use no capacity', () => {
    const time = clock();
    const limiter = new Limiter({ perSecond: 1, maxConcurrent: 1, counts: (req) => req.method === 'POST' }, time.now);
    expect(limiter.admit(request('POST')).ok).toBe(true);
    expect(admitted(Array.from({ length: 50 }, () => limiter.admit(request('GET'))))).toBe(50);
    expect(limiter.admit(request('POST')).ok).toBe(false);
  });

  it('a refused request takes nothing from the other limits; Retry-After is the longest wait', () => {
    const time = clock(1_699_999_980_000); // a multiple of 60 s
    const limiter = new Limiter({ perSecond: 10, window: { ms: 60_000, max: 3 } }, time.now);
    expect(admitted(Array.from({ length: 3 }, () => limiter.admit(request())))).toBe(3);
    const refused = limiter.admit(request());
    expect(refused).toMatchObject({ ok: false, retryAfterSeconds: 60, exceeded: ['window'] });
    time.advance(60_000);
    // The bucket refilled to its burst of 10, but the new window still admits only 3.
    expect(admitted(Array.from({ length: 10 }, () => limiter.admit(request())))).toBe(3);
  });

  it('reset refills the rate and the window but keeps in-flight slots', () => {
    const time = clock();
    const limiter = new Limiter({ perSecond: 2, maxConcurrent: 5 }, time.now);
    limiter.admit(request());
    limiter.admit(request());
    expect(limiter.admit(request()).ok).toBe(false);
    limiter.reset();
    expect(limiter.inFlight).toBe(2);
    expect(limiter.admit(request()).ok).toBe(true);
  });

  it('rejects limits that are not positive numbers', () => {
    expect(() => new Limiter({ perSecond: 0 })).toThrow(/perSecond/);
    expect(() => new Limiter({ window: { ms: 1000, max: -1 } })).toThrow(/window.max/);
  });
});
