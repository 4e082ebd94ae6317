import type { EmulatorRequest, EmulatorResponse } from '../emulator.ts';

/**
 * Sees every request a partner's emulator receives in this process (sandbox, test partners, nock
 * partners alike) and the answer it got. The project's spec check hooks in here to validate what
 * the adapters send against each partner's published API definition; it only looks, never answers.
 */
export interface ExchangeObserver {
  /** As the request arrives, before limits or faults: what the adapter sent, whatever happens to it. */
  request?(partner: string, request: EmulatorRequest): void;
  /** The answer sent back; undefined when the request was dropped or timed out unanswered. */
  response?(partner: string, request: EmulatorRequest, response: EmulatorResponse | undefined): void;
}

const observers = new Set<ExchangeObserver>();

/** Adds an observer for every emulator in this process; returns the function that removes it. */
export function observeExchanges(observer: ExchangeObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

export function notifyRequest(partner: string, request: EmulatorRequest): void {
  for (const observer of observers) quietly(() => observer.request?.(partner, request));
}

export function notifyResponse(
  partner: string,
  request: EmulatorRequest,
  response: EmulatorResponse | undefined,
): void {
  for (const observer of observers) quietly(() => observer.response?.(partner, request, response));
}

// An observer is an instrument: if it fails, the partner must still answer exactly as it would.
function quietly(run: () => void): void {
  try {
    run();
  } catch {
    // ignored on purpose (see above)
  }
}
