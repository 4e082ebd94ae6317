/**
 * The one rate option every rated adapter takes (`requestsPerSecond`), checked alike. Generic: the
 * partner's documented default comes from its adapter.
 */
export function requestsPerSecond(partner: string, requested: number | undefined, documented: number): number {
  if (requested === undefined) return documented;
  if (!Number.isFinite(requested) || requested <= 0)
    throw new Error(`${partner}: requestsPerSecond must be a number above 0`);
  return requested;
}
