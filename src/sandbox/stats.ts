import type { FaultKind } from './faults.ts';
import type { RequestLogEntry } from './request-log.ts';

export interface PartnerStats {
  /** Requests received (in flight included). */
  readonly requests: number;
  readonly inFlight: number;
  readonly responses: {
    readonly '2xx': number;
    readonly '3xx': number;
    readonly '4xx': number;
    readonly '5xx': number;
  };
  /** Every 429 sent, whether from the sandbox's limits or from the emulator itself. */
  readonly tooManyRequests: number;
  /** Requests the sandbox's limits refused. */
  readonly rateLimited: number;
  readonly faults: Readonly<Record<FaultKind, number>>;
  /** Clients that went away before an answer (timeouts included). */
  readonly clientAborted: number;
  /** The most requests in flight at once, as the client sent them (refused ones included). */
  readonly peakConcurrency: number;
  /** Requests the emulator itself answered (past the limits and the faults). */
  readonly handled: number;
  /** handled / seconds from the first such request's arrival to the last one's answer. */
  readonly achievedPerSecond: number;
  /** The most requests the emulator answered within one wall-clock second. */
  readonly peakPerSecond: number;
}

/** Counts every exchange, unlike the log, which keeps only the newest. */
export class StatsCounter {
  #requests = 0;
  #inFlight = 0;
  #peakConcurrency = 0;
  #responses = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  #tooManyRequests = 0;
  #rateLimited = 0;
  #faults: Record<FaultKind, number> = { error: 0, timeout: 0, drop: 0 };
  #clientAborted = 0;
  #handled = 0;
  #firstHandledAt: number | undefined;
  #lastHandledAt = 0;
  #second = 0;
  #inSecond = 0;
  #peakPerSecond = 0;

  arrived(): void {
    this.#requests += 1;
    this.#inFlight += 1;
    this.#peakConcurrency = Math.max(this.#peakConcurrency, this.#inFlight);
  }

  /** `handledSince` is when a request the emulator handled arrived (epoch ms), else undefined. */
  ended(entry: RequestLogEntry, handledSince: number | undefined, now = Date.now()): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (entry.status !== null) {
      const group = `${Math.floor(entry.status / 100)}xx`;
      if (group === '2xx' || group === '3xx' || group === '4xx' || group === '5xx') this.#responses[group] += 1;
      if (entry.status === 429) this.#tooManyRequests += 1;
    }
    if (entry.rateLimited) this.#rateLimited += 1;
    if (entry.fault !== null) this.#faults[entry.fault] += 1;
    if (entry.clientAborted) this.#clientAborted += 1;
    if (handledSince !== undefined) {
      this.#handled += 1;
      this.#firstHandledAt = Math.min(this.#firstHandledAt ?? handledSince, handledSince);
      this.#lastHandledAt = Math.max(this.#lastHandledAt, now);
      const second = Math.floor(now / 1000);
      if (second !== this.#second) {
        this.#second = second;
        this.#inSecond = 0;
      }
      this.#inSecond += 1;
      this.#peakPerSecond = Math.max(this.#peakPerSecond, this.#inSecond);
    }
  }

  snapshot(): PartnerStats {
    const spanMs = this.#firstHandledAt === undefined ? 0 : this.#lastHandledAt - this.#firstHandledAt;
    return {
      requests: this.#requests,
      inFlight: this.#inFlight,
      responses: { ...this.#responses },
      tooManyRequests: this.#tooManyRequests,
      rateLimited: this.#rateLimited,
      faults: { ...this.#faults },
      clientAborted: this.#clientAborted,
      peakConcurrency: this.#peakConcurrency,
      handled: this.#handled,
      // A span under a millisecond would report a meaningless rate in the millions.
      achievedPerSecond: this.#handled === 0 ? 0 : round((this.#handled * 1000) / Math.max(spanMs, 1)),
      peakPerSecond: this.#peakPerSecond,
    };
  }

  /** Zero the counters; requests still in flight are kept, since they will end after the reset. */
  reset(): void {
    const inFlight = this.#inFlight;
    this.#requests = inFlight;
    this.#peakConcurrency = inFlight;
    this.#responses = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
    this.#tooManyRequests = 0;
    this.#rateLimited = 0;
    this.#faults = { error: 0, timeout: 0, drop: 0 };
    this.#clientAborted = 0;
    this.#handled = 0;
    this.#firstHandledAt = undefined;
    this.#lastHandledAt = 0;
    this.#second = 0;
    this.#inSecond = 0;
    this.#peakPerSecond = 0;
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
