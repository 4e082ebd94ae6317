/**
 * A gateway with the real adapters against the partners' emulators (startTestPartners), on the test
 * engine, with a clock the test moves and the `erased` hook recorded: for tests that assert what
 * each partner holds after a sequence of lifecycle steps.
 */
import { createGateway } from '../../src/gateway.ts';
import type { Gateway, GatewayOptions } from '../../src/gateway-api.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import type { PartnerLimits } from '../../src/transfer/rate-limit.ts';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { MemorySource, startTestPartners, type TestPartners } from '../../src/testing/index.ts';
import { testDatabase } from './database.ts';
import { testSecrets } from './harness.ts';
import { capturedLogger } from './log-capture.ts';

export const policy = loadPolicyFile();

export interface RealGateway {
  readonly gateway: Gateway;
  readonly source: MemorySource;
  readonly clock: { now: Date };
  /** Subjects the `erased` hook was called for, in order. */
  readonly erased: string[];
  /** Subjects the `anonymiseCameraData` hook was called for, in order. */
  readonly anonymised: string[];
  logText(): string;
  close(): Promise<void>;
}

export async function startRealGateway(
  partners: TestPartners,
  options: {
    readonly records?: readonly unknown[];
    /** Per partner, adapter options over the sandbox's (e.g. a short timeoutMs). */
    readonly adapterOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
    readonly now?: Date;
    readonly overrides?: Partial<GatewayOptions>;
  } = {},
): Promise<RealGateway> {
  const db = await testDatabase();
  const source = new MemorySource([...(options.records ?? [])]);
  const clock = { now: options.now ?? new Date() };
  const erased: string[] = [];
  const anonymised: string[] = [];
  const { logger, text } = capturedLogger();
  const gateway = await createGateway({
    policy,
    database: db,
    adapters: partners.adapters(options.adapterOptions ?? {}),
    source,
    secrets: testSecrets,
    logger,
    now: () => clock.now,
    // The sandbox runs with its limits off; pacing at Auth0's 2/s would only make the test slow.
    limits: Object.fromEntries(policy.partnerNames.map((p) => [p, { perSecond: undefined } satisfies PartnerLimits])),
    retry: { retryDelaySeconds: 1, retryDelayMaxSeconds: 1 },
    hooks: {
      erased: async (id) => void erased.push(id),
      anonymiseCameraData: async (id) => void anonymised.push(id),
    },
    ...options.overrides,
  });
  return {
    gateway,
    source,
    clock,
    erased,
    anonymised,
    logText: text,
    close: async () => {
      await gateway.stop();
      await db.close();
      await db.drop();
    },
  };
}

/**
 * For a test file: the emulators start once, and after each test the gateway it started is closed
 * and the emulators are emptied, faults off. Use it at the top level of the file.
 */
export function realGatewaySuite(): {
  readonly partners: TestPartners;
  start(options?: Parameters<typeof startRealGateway>[1]): Promise<RealGateway>;
} {
  let partners: TestPartners | undefined;
  let running: RealGateway | undefined;
  beforeAll(async () => {
    partners = await startTestPartners();
  });
  afterAll(() => partners?.stop());
  afterEach(async () => {
    await running?.close();
    running = undefined;
    partners?.setFaults({});
    partners?.reset();
  });
  const started = (): TestPartners => {
    if (!partners) throw new Error('the emulators start in beforeAll: use them inside a test');
    return partners;
  };
  return {
    get partners() {
      return started();
    },
    start: async (options) => (running = await startRealGateway(started(), options)),
  };
}
