import { describe, expect, it } from 'vitest';
import { FaultInjector, specFor, validateFaults, type FaultKind } from '../../src/sandbox/faults.ts';
import { streamFor } from '../../src/sandbox/prng.ts';

function tally(injector: FaultInjector, draws: number): Record<FaultKind | 'none', number> {
  const counts = { error: 0, timeout: 0, drop: 0, none: 0 };
  for (let i = 0; i < draws; i += 1) counts[injector.next().fault ?? 'none'] += 1;
  return counts;
}

describe('fault draws', () => {
  it('match the configured rates', () => {
    const counts = tally(new FaultInjector({ errorRate: 0.1, timeoutRate: 0.05, dropRate: 0.2 }, 7, 'kv'), 20_000);
    expect(counts.error / 20_000).toBeCloseTo(0.1, 1);
    expect(counts.timeout / 20_000).toBeCloseTo(0.05, 1);
    expect(counts.drop / 20_000).toBeCloseTo(0.2, 1);
  });

  it('are the same for the same seed and partner, different for another seed, and replay after rewind', () => {
    const sequence = (injector: FaultInjector): (FaultKind | null)[] =>
      Array.from({ length: 200 }, () => injector.next().fault);
    const spec = { errorRate: 0.3 };
    const first = new FaultInjector(spec, 42, 'kv');
    const a = sequence(first);
    expect(sequence(new FaultInjector(spec, 42, 'kv'))).toEqual(a);
    expect(sequence(new FaultInjector(spec, 43, 'kv'))).not.toEqual(a);
    expect(sequence(new FaultInjector(spec, 42, 'other'))).not.toEqual(a);
    first.rewind();
    expect(sequence(first)).toEqual(a);
  });

  it('latency does not shift which requests fail', () => {
    const withLatency = new FaultInjector({ errorRate: 0.3, latencyMs: { min: 1, max: 9 } }, 5, 'kv');
    const without = new FaultInjector({ errorRate: 0.3 }, 5, 'kv');
    for (let i = 0; i < 200; i += 1) {
      const draw = withLatency.next();
      expect(draw.fault).toBe(without.next().fault);
      expect(draw.latencyMs).toBeGreaterThanOrEqual(1);
      expect(draw.latencyMs).toBeLessThanOrEqual(9);
    }
  });

  it('streams are uniform enough', () => {
    const random = streamFor(1, 'x');
    let sum = 0;
    for (let i = 0; i < 10_000; i += 1) sum += random();
    expect(sum / 10_000).toBeCloseTo(0.5, 1);
  });
});

describe('fault configuration', () => {
  it("merges '*' with a partner's own entry", () => {
    expect(specFor({ '*': { latencyMs: 5, errorRate: 0.1 }, kv: { errorRate: 0.5 } }, 'kv')).toEqual({
      latencyMs: 5,
      errorRate: 0.5,
    });
    expect(specFor({ '*': { latencyMs: 5 } }, 'other')).toEqual({ latencyMs: 5 });
  });

  it('rejects unknown partners, rates outside 0..1, a total above 1 and bad latency', () => {
    expect(() => validateFaults({ stirpe: { errorRate: 0.1 } }, ['stripe'])).toThrow(/stirpe/);
    expect(() => validateFaults({ '*': { errorRate: 1.5 } }, [])).toThrow(/errorRate/);
    expect(() => validateFaults({ '*': { errorRate: 0.6, dropRate: 0.6 } }, [])).toThrow(/more than 1/);
    expect(() => validateFaults({ '*': { latencyMs: { min: 10, max: 5 } } }, [])).toThrow(/latencyMs/);
    expect(() =>
      validateFaults({ '*': { errorRate: 0.5, dropRate: 0.5, latencyMs: { min: 0, max: 5 } } }, []),
    ).not.toThrow();
  });
});
