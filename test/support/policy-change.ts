/**
 * A store that outlives its gateways, for tests that change the policy: each switchTo() stops the
 * running gateway and starts one on the same store and source with another policy, as a host does
 * when it deploys an edited config/policy.yaml. Every gateway gets every real adapter (a partner
 * the policy no longer names is then a former partner, to offboard).
 */
import { createGateway } from '../../src/gateway.ts';
import type { Gateway } from '../../src/gateway-api.ts';
import { fromDocument, loadPolicyFile, type Policy, type PolicyDocument } from '../../src/policy/index.ts';
import { MemorySource, type TestPartners } from '../../src/testing/index.ts';
import type { PartnerLimits } from '../../src/transfer/rate-limit.ts';
import { testDatabase } from './database.ts';
import { testSecrets } from './harness.ts';
import { capturedLogger } from './log-capture.ts';

export const basePolicy = loadPolicyFile();

type Partners = PolicyDocument['partners'];

/** The shipped policy with its partners edited (a copy: the shipped one is frozen). */
export function policyWith(edit: (partners: Partners) => void): Policy {
  const document = structuredClone(basePolicy.document) as PolicyDocument;
  edit(document.partners);
  return fromDocument(document);
}

export interface PolicyRun {
  readonly source: MemorySource;
  readonly gateway: Gateway;
  readonly clock: { now: Date };
  switchTo(policy: Policy): Promise<Gateway>;
  logText(): string;
  close(): Promise<void>;
}

export async function startPolicyRun(
  partners: TestPartners,
  policy: Policy,
  records: readonly unknown[] = [],
): Promise<PolicyRun> {
  const db = await testDatabase();
  const source = new MemorySource([...records]);
  const clock = { now: new Date() };
  const { logger, text } = capturedLogger();
  const start = (p: Policy) =>
    createGateway({
      policy: p,
      database: db,
      adapters: partners.adapters(),
      source,
      secrets: testSecrets,
      logger,
      now: () => clock.now,
      limits: Object.fromEntries(partners.partners.map((n) => [n, { perSecond: undefined } satisfies PartnerLimits])),
      retry: { retryDelaySeconds: 1, retryDelayMaxSeconds: 1 },
    });
  let gateway = await start(policy);
  return {
    source,
    clock,
    get gateway() {
      return gateway;
    },
    switchTo: async (p) => {
      await gateway.stop();
      gateway = await start(p);
      return gateway;
    },
    logText: text,
    close: async () => {
      await gateway.stop();
      await db.close();
      await db.drop();
    },
  };
}
