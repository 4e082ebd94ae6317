import { createGateway, type Gateway, type GatewayOptions } from '../../../src/gateway.ts';
import { loadPolicyFile } from '../../../src/policy/index.ts';
import { MemorySource, type TestPartners } from '../../../src/testing/index.ts';
import type { PartnerLimits } from '../../../src/transfer/rate-limit.ts';
import { testDatabase } from '../../support/database.ts';
import { testSecrets } from '../../support/harness.ts';
import { capturedLogger } from '../../support/log-capture.ts';

export const policy = loadPolicyFile();

export interface Running {
  gateway: Gateway;
  source: MemorySource;
  clock: { now: Date };
  logText(): string;
  close(): Promise<void>;
}

/** A gateway on the test engine with every real adapter against the emulators, on an injected clock. */
export async function startGateway(
  partners: TestPartners,
  records: unknown[] = [],
  overrides: Partial<GatewayOptions> = {},
): Promise<Running> {
  const db = await testDatabase();
  const source = new MemorySource(records);
  const { logger, text } = capturedLogger();
  const clock = { now: new Date('2026-03-10T12:00:00Z') };
  const gateway = await createGateway({
    policy,
    database: db,
    adapters: partners.adapters(),
    source,
    secrets: testSecrets,
    logger,
    now: () => clock.now,
    retry: { retryLimit: 1, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 },
    // The sandbox runs with its limits off; pacing at Auth0's 2/s would only make the test slow.
    limits: Object.fromEntries(policy.partnerNames.map((p) => [p, { perSecond: undefined } satisfies PartnerLimits])),
    ...overrides,
  });
  return {
    gateway,
    source,
    clock,
    logText: text,
    close: async () => {
      await gateway.stop();
      await db.close();
      await db.drop();
    },
  };
}

/** Requests a partner got that change what it holds (token calls and reads left out). */
export function writes(partners: TestPartners, partner: string) {
  return partners.requests(partner).filter((r) => r.method !== 'GET' && !r.path.startsWith('/oauth/'));
}
