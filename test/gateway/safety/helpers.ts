import type { GatewayOptions } from '../../../src/gateway-api.ts';
import type { TestPartners } from '../../../src/testing/index.ts';
import { startRealGateway, type RealGateway } from '../../support/real-gateway.ts';

export { policy } from '../../support/real-gateway.ts';

export type Running = RealGateway;

/**
 * The shared real-adapter gateway (test/support/real-gateway.ts) as the safety suites want it: on
 * 2026-03-10, and one retry only, so a failing job dead-letters quickly.
 */
export function startGateway(
  partners: TestPartners,
  records: unknown[] = [],
  overrides: Partial<GatewayOptions> = {},
): Promise<Running> {
  return startRealGateway(partners, {
    records,
    now: new Date('2026-03-10T12:00:00Z'),
    overrides: { retry: { retryLimit: 1, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 }, ...overrides },
  });
}

/** Requests a partner got that change what it holds (token calls and reads left out). */
export function writes(partners: TestPartners, partner: string) {
  return partners.requests(partner).filter((r) => r.method !== 'GET' && !r.path.startsWith('/oauth/'));
}
