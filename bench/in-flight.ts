/**
 * Calls in flight per partner during a gateway run: where the time between jobs goes. Wraps each
 * adapter's calls and integrates how many are in flight over time, so a run shows the mean in flight
 * (the hand-written loop keeps its cap, e.g. 100, all the time) and the share of the time a partner
 * had none in flight (the gaps between one batch's calls and the next: statements, commits, the
 * queue's fetch and completion).
 */
import type { PartnerAdapter } from '../src/adapter.ts';

export interface InFlight {
  readonly partner: string;
  /** Calls in flight on average, from the partner's first call to its last. */
  readonly mean: number;
  /** Share of that time with no call in flight. */
  readonly idleShare: number;
  readonly calls: number;
}

interface Track {
  inFlight: number;
  since: number;
  area: number;
  idle: number;
  first: number;
  last: number;
  calls: number;
}

const CALLS = ['upsert', 'upsertBatch', 'suppress', 'erase'] as const;

export class CallsInFlight {
  readonly #tracks = new Map<string, Track>();
  #on = false;

  start(): void {
    this.#on = true;
  }

  stop(): void {
    this.#on = false;
  }

  /** The adapter with its calls counted (the object itself, its methods wrapped). */
  wrap(adapter: PartnerAdapter): PartnerAdapter {
    const t: Track = { inFlight: 0, since: 0, area: 0, idle: 0, first: 0, last: 0, calls: 0 };
    this.#tracks.set(adapter.partner, t);
    const target = adapter as unknown as Record<string, unknown>;
    for (const name of CALLS) {
      const call = target[name];
      if (typeof call !== 'function') continue;
      target[name] = async (...args: unknown[]) => {
        this.#move(t, +1);
        try {
          return await (call as (...a: unknown[]) => Promise<unknown>).apply(adapter, args);
        } finally {
          this.#move(t, -1);
        }
      };
    }
    return adapter;
  }

  #move(t: Track, by: 1 | -1): void {
    if (!this.#on) return;
    const now = performance.now();
    if (t.first === 0) t.first = now;
    else {
      t.area += t.inFlight * (now - t.since);
      if (t.inFlight === 0) t.idle += now - t.since;
    }
    t.since = now;
    t.inFlight += by;
    if (by > 0) t.calls++;
    else t.last = now;
  }

  result(): InFlight[] {
    return [...this.#tracks]
      .filter(([, t]) => t.calls > 0 && t.last > t.first)
      .map(([partner, t]) => {
        const span = t.last - t.first;
        return {
          partner,
          mean: Math.round((t.area / span) * 10) / 10,
          idleShare: Math.round((t.idle / span) * 100) / 100,
          calls: t.calls,
        };
      });
  }
}
