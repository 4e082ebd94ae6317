/** A uniform draw in [0, 1). */
export type Random = () => number;

/**
 * A seeded generator (mulberry32): Math.random cannot be replayed, and a failing fault-injection
 * run must be reproducible from its seed.
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * One independent stream per (seed, name): each partner, and each use within a partner, draws from
 * its own stream, so adding a partner or turning latency on does not change which requests fail.
 */
export function streamFor(seed: number, name: string): Random {
  // FNV-1a over the seed and the name.
  let hash = 0x811c9dc5;
  for (const char of `${seed}\u0000${name}`) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193);
  }
  return mulberry32(hash);
}
