import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import { testDatabase } from './database.ts';
import { capturedLogger } from './log-capture.ts';
import { MemoryAdapter } from './memory-adapter.ts';
import { MemorySource } from './records.ts';

export interface Harness {
  gateway: Gateway;
  adapters: Map<string, MemoryAdapter>;
  source: MemorySource;
  logText(): string;
  clock: { now: Date };
  close(): Promise<void>;
}

export const testSecrets = { pseudonymKey: 'test-pseudonym-key-0123456789abcdef' };

/** A gateway on the test engine with an in-memory adapter for every partner in the default policy. */
export async function startHarness(
  options: { records?: unknown[]; batch?: Record<string, number>; overrides?: Partial<GatewayOptions> } = {},
): Promise<Harness> {
  const policy = loadPolicyFile();
  const adapters = new Map(
    policy.partnerNames.map((p) => [p, new MemoryAdapter(p, { batch: options.batch?.[p] ?? 0 })]),
  );
  const source = new MemorySource(options.records ?? []);
  const db = await testDatabase();
  const { logger, text } = capturedLogger();
  const clock = { now: new Date('2026-03-10T12:00:00Z') };
  const gateway = await createGateway({
    policy,
    database: db,
    adapters: [...adapters.values()],
    source,
    secrets: testSecrets,
    logger,
    now: () => clock.now,
    retry: { retryLimit: 2, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 },
    ...options.overrides,
  });
  return {
    gateway,
    adapters,
    source,
    logText: text,
    clock,
    close: async () => {
      await gateway.stop();
      await db.close();
      await db.drop();
    },
  };
}
