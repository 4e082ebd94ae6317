import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type PartnerError } from '../../src/adapter.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import { permanent, retryable } from '../support/memory-adapter.ts';
import { canariesOf, canaryRecord } from '../support/records.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import pg from 'pg';
import { engine } from '../support/database.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const policy = loadPolicyFile();

function leafPaths(value: unknown, prefix = ''): string[] {
  if (value && typeof value === 'object' && !Array.isArray(value))
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  return prefix ? [prefix] : [];
}

/** Everything the gateway persisted about transfers and jobs, as text, for leak searches. */
async function persistedText(harness: Harness): Promise<string> {
  const db = harness.gateway.database;
  const tables = await Promise.all([
    db.query(`select * from transfer_log`),
    db.query(`select * from links`),
    db.query(`select * from subjects`),
    db.query(`select * from consent_ledger`),
    db.query(`select * from tombstones`),
    db.query(`select data, output from ${db.schema}_queue.job`),
  ]);
  return JSON.stringify(tables);
}

describe('the reconcile pipeline', () => {
  it('sends each partner only its allowed fields, once', async () => {
    h = await startHarness({ records: [canaryRecord(1)] });
    await h.gateway.changed('subj-1');
    await h.gateway.runUntilIdle();
    const elogistik = h.adapters.get('elogistik')!;
    expect(elogistik.calls).toHaveLength(1);
    expect(Object.keys(elogistik.calls[0]!.payload!).sort()).toEqual(['address', 'email', 'name', 'phone']);
    expect(h.adapters.get('stripe')!.calls[0]!.payload).toEqual({
      name: { given: 'CanaryGiven1x7q', family: 'CanaryFamily1x7q' },
    });
    expect(h.adapters.get('mailchimp')!.calls).toHaveLength(0); // consent-based: no grant, no call
    expect(h.adapters.get('twilio')!.calls).toHaveLength(0); // action partner
    expect(h.adapters.get('resin')!.calls).toHaveLength(0); // sent nothing

    // A second changed() with the same data makes no partner call.
    await h.gateway.changed('subj-1');
    await h.gateway.runUntilIdle();
    for (const adapter of h.adapters.values()) expect(adapter.calls.length, adapter.partner).toBeLessThanOrEqual(1);
    expect(elogistik.calls).toHaveLength(1);
  });

  it('never hands an adapter a field outside its allowlist (random records with extra and nested fields)', async () => {
    h = await startHarness();
    const harness = h;
    const extra = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 8 }),
      fc.oneof(
        fc.string(),
        fc.integer(),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.string(), { maxKeys: 3 }),
      ),
      { maxKeys: 5 },
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(extra, extra, extra), { minLength: 3, maxLength: 8 }), async (rows) => {
        const ids: string[] = [];
        for (const [top, inName, inAddress] of rows) {
          const base = canaryRecord(++n);
          harness.source.put({
            ...top,
            ...base,
            name: { ...inName, ...base.name },
            address: { ...inAddress, ...base.address },
            partnerIds: {},
          });
          ids.push(base.id);
        }
        for (const id of ids) await harness.gateway.changed(id);
        await harness.gateway.runUntilIdle();
        for (const adapter of harness.adapters.values()) {
          const allowed = policy.allowedFields(adapter.partner);
          for (const call of adapter.calls)
            for (const path of leafPaths(call.payload ?? {}))
              expect(allowed, `${adapter.partner} got ${path}`).toContain(path);
        }
      }),
      { numRuns: 6 },
    );
    expect(h.adapters.get('elogistik')!.calls.length).toBeGreaterThan(10);
  });

  it('makes no call for an erased subject, whatever job arrives late', async () => {
    h = await startHarness({ records: [canaryRecord(1), canaryRecord(2)] });
    await h.gateway.database.query(
      `insert into tombstones (subject_id, at, reason) values ('subj-2', now(), 'erasure request')`,
    );
    await h.gateway.changed('subj-2');
    await h.gateway.resync({ subjects: ['subj-2'], force: true });
    await h.gateway.resync({ subjects: ['subj-2'] });
    await h.gateway.runUntilIdle();
    for (const adapter of h.adapters.values()) expect(adapter.calls, adapter.partner).toHaveLength(0);
    expect(await h.gateway.audit.list({ subjectId: 'subj-2', kind: 'intent' })).toHaveLength(0);
  });

  it('erases everywhere that holds data when a subject is tombstoned after it was sent', async () => {
    h = await startHarness({ records: [canaryRecord(3)] });
    await h.gateway.changed('subj-3');
    await h.gateway.runUntilIdle();
    await h.gateway.database.query(
      `insert into tombstones (subject_id, at, reason) values ('subj-3', now(), 'erasure request')`,
    );
    await h.gateway.processDueErasures();
    await h.gateway.runUntilIdle();
    for (const partner of ['elogistik', 'stripe', 'intercom', 'auth0']) {
      const adapter = h.adapters.get(partner)!;
      expect(
        adapter.calls.map((c) => c.operation),
        partner,
      ).toEqual(['upsert', 'erase']);
      expect(adapter.held.size, partner).toBe(0);
    }
    const erasures = await h.gateway.audit.list({ subjectId: 'subj-3', kind: 'outcome' });
    expect(
      erasures.filter((r) => r.operation === 'erase').every((r) => r.trigger === 'erasure' && r.outcome === 'ok'),
    ).toBe(true);
  });

  it('writes an intent and an outcome row for every call, with field names and never a value', async () => {
    const records = [canaryRecord(4), canaryRecord(5)];
    h = await startHarness({ records });
    h.adapters.get('intercom')!.failNext(retryable('intercom'));
    h.source.put({ ...canaryRecord(6), email: 'not-an-email-CanaryBad6' });
    for (const id of ['subj-4', 'subj-5', 'subj-6']) await h.gateway.changed(id);
    await h.gateway.runUntilIdle({ waitForRetries: true });

    const rows = await h.gateway.audit.list({ subjectId: 'subj-4' });
    const intents = rows.filter((r) => r.kind === 'intent');
    const outcomes = rows.filter((r) => r.kind === 'outcome');
    expect(intents.length).toBe(outcomes.length);
    const elogistik = intents.find((r) => r.partner === 'elogistik')!;
    expect(elogistik).toMatchObject({
      operation: 'upsert',
      purpose: 'fulfilment',
      legalBasis: 'contract',
      trigger: 'change',
      policyDigest: policy.digest,
      attempt: 1,
    });
    expect(elogistik.fields).toEqual(policy.allowedFields('elogistik'));
    expect(elogistik.categories).toEqual(['name', 'address', 'phone', 'email']);
    expect(elogistik.payloadDigest).toMatch(/^[0-9a-f]{64}$/);
    // The failed first attempt at Intercom (whichever subject it hit) and its retry are both on record.
    const intercom = (await h.gateway.audit.list({ partner: 'intercom', kind: 'outcome' })).filter(
      (r) => r.outcome !== 'ok' || r.attempt === 2,
    );
    expect(intercom.map((r) => [r.outcome, r.attempt, r.httpStatus, r.errorCode])).toEqual([
      ['failed', 1, 503, 'unavailable'],
      ['ok', 2, null, null],
    ]);
    expect(intercom[0]!.subjectId).toBe(intercom[1]!.subjectId);

    // Calls vs rows: every call the adapters saw has its outcome row.
    const allOutcomes = await h.gateway.audit.list({ kind: 'outcome' });
    for (const adapter of h.adapters.values())
      expect(allOutcomes.filter((r) => r.partner === adapter.partner).length, adapter.partner).toBe(
        adapter.calls.length,
      );

    // No personal value anywhere: log tables, job payloads, the logger's output.
    const persisted = await persistedText(h);
    const logged = h.logText();
    for (const canary of [...records.flatMap(canariesOf), 'CanaryBad6']) {
      expect(persisted, canary).not.toContain(canary);
      expect(logged, canary).not.toContain(canary);
    }
    expect(logged).toContain('invalid master record');
  });

  it('a bad record gets a clear dead letter, sends nothing, and blocks nothing else', async () => {
    h = await startHarness({ records: [canaryRecord(7)] });
    h.source.put({ ...canaryRecord(8), phone: '0701234567' });
    await h.gateway.changed('subj-8');
    await h.gateway.changed('subj-7');
    await h.gateway.runUntilIdle();
    expect(h.adapters.get('elogistik')!.calls.map((c) => c.payload?.name?.given)).toEqual(['CanaryGiven7x7q']);
    const dead = await h.gateway.deadLetters('elogistik');
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ subjectId: 'subj-8', partner: 'elogistik' });
    const jobs = await h.gateway.database.query<{ output: unknown }>(
      `select output from ${h.gateway.database.schema}_queue.job where name = 'partner-gateway.reconcile.elogistik' and data->>'subjectId' = 'subj-8'`,
    );
    expect(JSON.stringify(jobs)).toMatch(/invalid master record for subject subj-8: phone: must be in E.164 form/);
    expect(JSON.stringify(jobs)).not.toContain('0701234567');
  });

  it('dead-letters a permanent failure at once, lists it, and redrives it', async () => {
    h = await startHarness({ records: [canaryRecord(9)] });
    const stripe = h.adapters.get('stripe')!;
    stripe.failNext(permanent('stripe'));
    await h.gateway.changed('subj-9');
    await h.gateway.runUntilIdle();
    expect(stripe.calls).toHaveLength(1);
    const dead = await h.gateway.deadLetters('stripe');
    expect(dead).toEqual([
      expect.objectContaining({
        partner: 'stripe',
        subjectId: 'subj-9',
        error: 'stripe upsert failed (permanent), HTTP 400, code invalid',
      }),
    ]);
    expect((await h.gateway.status()).partners.find((p) => p.partner === 'stripe')).toMatchObject({
      deadLetters: 1,
      failedCalls24h: 1,
    });

    expect(await h.gateway.redrive('stripe')).toBe(1);
    await h.gateway.runUntilIdle();
    expect(stripe.calls).toHaveLength(2);
    expect(stripe.held.size).toBe(1);
    expect(await h.gateway.deadLetters('stripe')).toHaveLength(0);
  });

  it('dead-letters after the retry budget is spent', async () => {
    h = await startHarness({
      records: [canaryRecord(10)],
      overrides: { retry: { retryLimit: 1, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 } },
    });
    const auth0 = h.adapters.get('auth0')!;
    auth0.failNext(retryable('auth0'), retryable('auth0'));
    await h.gateway.changed('subj-10');
    await h.gateway.runUntilIdle({ waitForRetries: true });
    expect(auth0.calls).toHaveLength(2);
    expect(await h.gateway.deadLetters('auth0')).toEqual([
      expect.objectContaining({
        subjectId: 'subj-10',
        error: 'auth0 upsert failed (retryable), HTTP 503, code unavailable',
      }),
    ]);
  });

  it("honours a partner's Retry-After for every worker, and only for that partner", async () => {
    h = await startHarness({ records: [canaryRecord(11)] });
    h.adapters.get('intercom')!.failNext(retryable('intercom', 30_000));
    await h.gateway.changed('subj-11');
    await h.gateway.runUntilIdle();
    const pauses = await h.gateway.database.query<{ partner: string; seconds: number }>(
      `select partner, extract(epoch from (paused_until - clock_timestamp()))::float8 as seconds from rate_limits where paused_until > clock_timestamp()`,
    );
    expect(pauses.map((p) => p.partner)).toEqual(['intercom']);
    expect(pauses[0]!.seconds).toBeGreaterThan(20);
    expect(pauses[0]!.seconds).toBeLessThanOrEqual(30);
    expect(h.adapters.get('elogistik')!.calls).toHaveLength(1);
  });

  it.runIf(engine === 'postgres')(
    "enqueues inside the host's own transaction: rolled back, nothing happens",
    async () => {
      h = await startHarness({ records: [canaryRecord(13)] });
      const client = new pg.Client({ connectionString: process.env.PARTNER_GATEWAY_TEST_DATABASE_URL });
      await client.connect();
      try {
        const tx = {
          executeSql: async (text: string, values?: unknown[]) => ({
            rows: (await client.query(text, values)).rows as unknown[],
          }),
        };
        await client.query('begin');
        await h.gateway.changed('subj-13', { tx });
        await client.query('rollback');
        await h.gateway.runUntilIdle();
        for (const adapter of h.adapters.values()) expect(adapter.calls, adapter.partner).toHaveLength(0);

        await client.query('begin');
        await h.gateway.changed('subj-13', { tx });
        await client.query('commit');
        await h.gateway.runUntilIdle();
        expect(h.adapters.get('elogistik')!.calls).toHaveLength(1);
      } finally {
        await client.end();
      }
    },
  );

  it('takes an adapter for a partner the policy does not name as a former partner: nothing sent, shown to offboard', async () => {
    const calls: string[] = [];
    h = await startHarness({
      records: [canaryRecord(11)],
      overrides: {
        adapters: [
          {
            partner: 'shopify',
            retainedAfterErasure: [],
            upsert: async () => void calls.push('upsert') as never,
            erase: async () => (calls.push('erase'), { removed: [] }),
          },
        ],
      },
    });
    await h.gateway.changed('subj-11');
    await h.gateway.runUntilIdle();
    expect(calls).toEqual([]);
    expect((await h.gateway.status()).offboarding).toEqual([
      { partner: 'shopify', adapter: true, holding: 0, erased: 0, done: true },
    ]);
  });

  it('classifies an unexpected adapter exception as retryable without echoing its message', async () => {
    h = await startHarness({ records: [canaryRecord(12)] });
    const stripe = h.adapters.get('stripe')!;
    stripe.failNext(
      Object.assign(new Error('boom CanaryGiven12x7q'), { code: 'ECONNRESET' }) as unknown as PartnerError,
    );
    await h.gateway.changed('subj-12');
    await h.gateway.runUntilIdle();
    const [outcome] = await h.gateway.audit.list({ subjectId: 'subj-12', partner: 'stripe', kind: 'outcome' });
    expect(outcome).toMatchObject({ outcome: 'failed', errorCode: 'ECONNRESET' });
    expect(await persistedText(h)).not.toContain('CanaryGiven12x7q');
    expect(h.logText()).not.toContain('CanaryGiven12x7q');
  });
});
