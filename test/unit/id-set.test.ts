import { describe, expect, it } from 'vitest';
import { IdSet } from '../../src/id-set.ts';

describe('IdSet (the ids a resync has seen, off the JS heap)', () => {
  it('agrees with a Set<string> on every add and lookup, across many growths, with non-ASCII and empty ids', () => {
    const ids = new IdSet();
    const reference = new Set<string>();
    const values = Array.from({ length: 60_000 }, (_, i) =>
      i % 7 === 0 ? `ö-${i % 500}-✓-😀` : `subj-${(i * 13) % 40_000}`,
    );
    // Mismatches collected, not one expect() per id: 110,000 checks.
    const wrong: string[] = [];
    for (const id of ['', ...values]) {
      if (ids.add(id) !== !reference.has(id)) wrong.push(`add ${id}`);
      reference.add(id);
    }
    expect(ids.size).toBe(reference.size);
    for (let i = 0; i < 50_000; i++)
      if (ids.has(`subj-${i}`) !== reference.has(`subj-${i}`)) wrong.push(`has subj-${i}`);
    for (let i = 0; i < 600; i++) if (ids.has(`ö-${i}-✓-😀`) !== reference.has(`ö-${i}-✓-😀`)) wrong.push(`has ö-${i}`);
    expect(wrong).toEqual([]);
    expect(ids.has('')).toBe(true);
  });

  it('tells ids apart that share a prefix, and a lookup never adds', () => {
    const ids = new IdSet();
    ids.add('subj-1');
    expect(ids.has('subj-10')).toBe(false);
    expect(ids.has('subj-')).toBe(false);
    expect(ids.has('subj-1')).toBe(true);
    expect(ids.size).toBe(1);
    expect(ids.add('subj-10')).toBe(true);
    expect(ids.has('subj-1')).toBe(true);
  });
});
