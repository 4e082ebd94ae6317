/**
 * The foundation's pipeline test again, with every real adapter (SDKs and all) in place of the
 * in-memory fakes, talking to the partners' emulators on loopback. What is asserted is what each
 * partner now holds and which requests it got, read from the emulators.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import type { PartnerLimits } from '../../src/transfer/rate-limit.ts';
import {
  canariesOf,
  canaryRecord,
  holdingsProblems,
  MemorySource,
  startTestPartners,
  type TestPartners,
} from '../../src/testing/index.ts';
import { testDatabase } from '../support/database.ts';
import { testSecrets } from '../support/harness.ts';
import { capturedLogger } from '../support/log-capture.ts';

const policy = loadPolicyFile();
/** The sync partners of the default policy that need no consent: they get every record. */
const SYNCED = ['elogistik', 'stripe', 'intercom', 'auth0'];

let partners: TestPartners;
beforeAll(async () => {
  partners = await startTestPartners();
});
afterAll(() => partners.stop());

interface Running {
  gateway: Gateway;
  source: MemorySource;
  logText(): string;
  close(): Promise<void>;
}
let running: Running | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
  partners.reset();
});

async function start(records: unknown[] = []): Promise<Running> {
  const db = await testDatabase();
  const source = new MemorySource(records);
  const { logger, text } = capturedLogger();
  const gateway = await createGateway({
    policy,
    database: db,
    adapters: partners.adapters(),
    source,
    secrets: testSecrets,
    logger,
    // The sandbox runs with its limits off; pacing at Auth0's 2/s would only make the test slow.
    limits: Object.fromEntries(policy.partnerNames.map((p) => [p, { perSecond: undefined } satisfies PartnerLimits])),
  });
  running = {
    gateway,
    source,
    logText: text,
    close: async () => {
      await gateway.stop();
      await db.close();
      await db.drop();
    },
  };
  return running;
}

/** Requests that change what a partner holds (Auth0's token calls and reads left out). */
function writes(partner: string): number {
  return partners.requests(partner).filter((r) => r.method !== 'GET' && !r.path.startsWith('/oauth/')).length;
}

/** Personal field names each partner holds for its one holding per subject, by partner. */
function heldFieldNames(partner: string): string[][] {
  return Object.values(partners.holdings(partner)).map((h) => Object.keys(h.personal).sort());
}

describe('the reconcile pipeline with the real adapters', () => {
  it('sends each partner only its allowed fields, once; the same data again makes no request', async () => {
    const { gateway } = await start([canaryRecord(1)]);
    await gateway.changed('subj-1');
    await gateway.runUntilIdle();
    expect(heldFieldNames('elogistik')).toEqual([
      ['address.city', 'address.country', 'address.postalCode', 'address.street', 'email', 'name', 'phone'],
    ]);
    expect(heldFieldNames('stripe')).toEqual([['name']]);
    expect(heldFieldNames('intercom')).toEqual([['email', 'name', 'phone']]);
    expect(heldFieldNames('mailchimp')).toEqual([]); // consent-based: no grant, no member
    expect(holdingsProblems(policy, partners.allHoldings())).toEqual([]);
    const before = Object.fromEntries(SYNCED.map((p) => [p, writes(p)]));
    for (const p of SYNCED) expect(before[p], p).toBe(1);

    await gateway.changed('subj-1');
    await gateway.resync();
    await gateway.runUntilIdle();
    for (const p of partners.partners) expect(writes(p), p).toBe(before[p] ?? 0);
  });

  it('no partner ever holds a field outside its allowlist (random records with extra and nested fields)', async () => {
    const run = await start();
    const extra = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 8 }),
      fc.oneof(
        fc.string(),
        fc.integer(),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.string(), { maxKeys: 3 }),
      ),
      { maxKeys: 5 },
    );
    let n = 100;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(extra, extra, extra), { minLength: 2, maxLength: 4 }), async (rows) => {
        const ids: string[] = [];
        for (const [top, inName, inAddress] of rows) {
          const base = canaryRecord(++n);
          run.source.put({
            ...top,
            ...base,
            name: { ...inName, ...base.name },
            address: { ...inAddress, ...base.address },
            partnerIds: {},
          });
          ids.push(base.id);
        }
        for (const id of ids) await run.gateway.changed(id);
        await run.gateway.runUntilIdle();
        expect(holdingsProblems(policy, partners.allHoldings())).toEqual([]);
        for (const partner of SYNCED) {
          const allowed = policy.allowedFields(partner);
          for (const fields of heldFieldNames(partner))
            for (const field of fields)
              expect(
                allowed.some((a) => a === field || a.startsWith(`${field}.`)),
                `${partner} holds ${field}`,
              ).toBe(true);
        }
      }),
      { numRuns: 4 },
    );
    expect(Object.keys(partners.holdings('elogistik')).length).toBeGreaterThanOrEqual(8);
  });

  it('a job for an erased subject makes no request, and erasure empties every partner that held it', async () => {
    const { gateway } = await start([canaryRecord(3), canaryRecord(4)]);
    await gateway.changed('subj-3');
    await gateway.runUntilIdle();
    expect(Object.keys(partners.holdings('stripe'))).toHaveLength(1);
    await gateway.erase('subj-3', { reason: 'erasure request' });
    await gateway.runUntilIdle();
    for (const p of partners.partners) expect(partners.holdings(p), p).toEqual({});

    // Late jobs for the erased subject, and one for a subject never sent, tombstoned first.
    await gateway.erase('subj-4', { reason: 'erasure request' });
    const before = Object.fromEntries(partners.partners.map((p) => [p, partners.requests(p).length]));
    await gateway.changed('subj-3');
    await gateway.changed('subj-4');
    await gateway.resync({ subjects: ['subj-3', 'subj-4'], force: true });
    await gateway.runUntilIdle();
    for (const p of partners.partners) expect(partners.requests(p).length, p).toBe(before[p]);
    for (const p of partners.partners) expect(partners.holdings(p), p).toEqual({});
  });

  it('every request has its intent and outcome rows, and no personal value reaches the log, the jobs or the logger', async () => {
    const records = [canaryRecord(5), canaryRecord(6)];
    const run = await start(records);
    await run.gateway.consent.grant('subj-5', 'marketing', { source: 'web-form', evidence: 'form-5' });
    for (const r of records) await run.gateway.changed(r.id);
    await run.gateway.runUntilIdle();
    await run.gateway.erase('subj-6', { reason: 'erasure request' });
    await run.gateway.runUntilIdle();

    const rows = await run.gateway.audit.list({});
    const intents = rows.filter((r) => r.kind === 'intent');
    const outcomes = rows.filter((r) => r.kind === 'outcome');
    expect(outcomes.length).toBe(intents.length);
    expect(outcomes.every((r) => r.outcome === 'ok')).toBe(true);
    for (const p of [...SYNCED, 'mailchimp']) {
      // One logged operation per request that wrote (a Mailchimp grant is one PUT; an erasure one DELETE).
      expect(intents.filter((r) => r.partner === p).length, p).toBe(writes(p));
    }
    expect((await run.gateway.audit.verify()).ok).toBe(true);

    const db = run.gateway.database;
    const persisted = JSON.stringify(
      await Promise.all([
        db.query(`select * from transfer_log`),
        db.query(`select * from links`),
        db.query(`select * from consent_ledger`),
        db.query(`select data, output from ${db.schema}_queue.job`),
      ]),
    );
    const logged = run.logText();
    for (const canary of records.flatMap(canariesOf)) {
      expect(persisted, canary).not.toContain(canary);
      expect(logged, canary).not.toContain(canary);
    }
  });
});
