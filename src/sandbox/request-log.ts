import type { FaultKind } from './faults.ts';

/**
 * One exchange as inspection shows it. Deliberately without body, header or query values: those
 * carry the test subjects' personal data (a Twilio `To`, an Auth0 `email` query), and what a partner
 * holds is for the emulator's holdings() to say, not for a log.
 */
export interface RequestLogEntry {
  /**
   * Given when the exchange ends, so it grows in log order and a poller that passes the last seq it
   * saw as `since` misses nothing, even a held request that ends late. Not restarted by a reset.
   */
  readonly seq: number;
  readonly method: string;
  readonly path: string;
  /** Names only, never values. */
  readonly queryKeys: readonly string[];
  /** When the request had been read, ISO 8601. */
  readonly time: string;
  /** null when no answer was sent (a drop, a timeout, or the client left first). */
  readonly status: number | null;
  readonly durationMs: number;
  /** Answered by the sandbox's limits with the emulator's rateLimited(). */
  readonly rateLimited: boolean;
  readonly fault: FaultKind | null;
  /** Injected latency, in milliseconds (0 when none). */
  readonly latencyMs: number;
  /** The client went away before an answer was sent. */
  readonly clientAborted: boolean;
}

/** Keeps the newest `capacity` entries so a long benchmark cannot exhaust memory; stats count everything. */
export class RequestLog {
  readonly #capacity: number;
  #entries: RequestLogEntry[] = [];
  #seq = 0;

  constructor(capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0))
      throw new RangeError(`logLimit must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
  }

  add(exchange: Omit<RequestLogEntry, 'seq'>): RequestLogEntry {
    this.#seq += 1;
    const entry: RequestLogEntry = { seq: this.#seq, ...exchange };
    this.#entries.push(entry);
    // Trim in batches: shifting one by one would make every add O(n) once full.
    if (this.#entries.length > this.#capacity * 1.25) this.#entries = this.#entries.slice(-this.#capacity);
    return entry;
  }

  /** Entries in seq order; `since` a seq number (entries after it) or a time (entries at or after it). */
  list(since?: number | Date): RequestLogEntry[] {
    const kept = this.#entries.slice(-this.#capacity);
    if (since === undefined) return kept;
    if (typeof since === 'number') return kept.filter((entry) => entry.seq > since);
    const from = since.getTime();
    return kept.filter((entry) => Date.parse(entry.time) >= from);
  }

  clear(): void {
    this.#entries = [];
  }
}

/** Reads ?since= : digits are a seq number, anything else must parse as a date. */
export function parseSince(raw: string | null): number | Date | undefined | Error {
  if (raw === null || raw === '') return undefined;
  if (/^\d+$/.test(raw)) return Number(raw);
  const time = Date.parse(raw);
  return Number.isNaN(time)
    ? new Error(`since must be a sequence number or an ISO 8601 time, got '${raw}'`)
    : new Date(time);
}
