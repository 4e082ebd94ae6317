/**
 * Issue 8: every outbound call takes one path (transfer), and one plan decides for the workers,
 * resync's dry run and actions alike. Real adapters against the emulators.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import type { RecordSource } from '../../src/source.ts';
import { canaryRecord, MemorySource, startTestPartners, type TestPartners } from '../../src/testing/index.ts';
import type { PartnerLimits } from '../../src/transfer/rate-limit.ts';
import { testDatabase } from '../support/database.ts';
import { testSecrets } from '../support/harness.ts';
import { capturedLogger } from '../support/log-capture.ts';

const policy = loadPolicyFile();
let partners: TestPartners;
beforeAll(async () => {
  partners = await startTestPartners();
});
afterAll(() => partners.stop());

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
  partners.reset();
  partners.setFaults({});
});

async function start(
  records: unknown[],
  limits: Record<string, PartnerLimits> = {},
  source: RecordSource = new MemorySource(records),
): Promise<Gateway> {
  const db = await testDatabase();
  const unlimited = Object.fromEntries(policy.partnerNames.map((p) => [p, { perSecond: undefined }]));
  const gateway = await createGateway({
    policy,
    database: db,
    adapters: partners.adapters(),
    source,
    secrets: testSecrets,
    logger: capturedLogger().logger,
    limits: { ...unlimited, ...limits },
  });
  close = async () => {
    await gateway.stop();
    await db.close();
    await db.drop();
  };
  return gateway;
}

/** Holds every worker's calls to the partner for `ms` from now, as a partner's Retry-After does. */
async function pausePartner(gateway: Gateway, partner: string, ms: number): Promise<number> {
  await gateway.database.query(
    `update rate_limits set paused_until = clock_timestamp() + make_interval(secs => $2) where partner = $1`,
    [partner, ms / 1000],
  );
  return Date.now();
}

const requestTimes = (partner: string, match: (path: string, method: string) => boolean) =>
  partners
    .requests(partner)
    .filter((r) => match(r.path, r.method))
    .map((r) => ({ start: Date.parse(r.time), end: Date.parse(r.time) + r.durationMs }));

describe('one outbound path: live fetches and actions are paced like every other call', () => {
  it("a live access-report fetch waits out the partner's pause, and is logged intent then outcome", async () => {
    const gateway = await start([canaryRecord(1)]);
    await gateway.changed('subj-1');
    await gateway.runUntilIdle();
    const pausedAt = await pausePartner(gateway, 'auth0', 1_500);
    const report = await gateway.access('subj-1', { live: true });
    expect(
      report.partners.find((p) => p.partner === 'auth0')!.live,
      JSON.stringify(report.partners.find((p) => p.partner === 'auth0')!.live),
    ).toMatchObject({ found: true });
    const fetches = requestTimes(
      'auth0',
      (path, method) => method === 'GET' && path.startsWith('/api/v2/users'),
    ).filter((r) => r.start >= pausedAt - 5);
    expect(fetches.length).toBeGreaterThan(0);
    // Lower bounds only: a busy machine can make a call later, never earlier.
    for (const f of fetches) expect(f.start - pausedAt).toBeGreaterThanOrEqual(1_400);
    const rows = await gateway.audit.list({ subjectId: 'subj-1', partner: 'auth0' });
    const fetchRows = rows.filter((r) => r.operation === 'fetch').map((r) => [r.kind, r.outcome]);
    expect(fetchRows).toEqual([
      ['intent', null],
      ['outcome', 'ok'],
    ]);
  });

  it("alarm calls keep to the partner's limit on calls in flight", async () => {
    const gateway = await start([canaryRecord(2), canaryRecord(3)], {
      twilio: { perSecond: undefined, maxConcurrent: 1 },
    });
    partners.setFaults({ twilio: { latencyMs: 400 } });
    await Promise.all([
      gateway.call('subj-2', 'alarm', { twiml: '<Response><Say>Larm</Say></Response>' }),
      gateway.call('subj-3', 'alarm', { twiml: '<Response><Say>Larm</Say></Response>' }),
    ]);
    const calls = requestTimes('twilio', (path, method) => method === 'POST' && path.endsWith('/Calls.json'));
    expect(calls).toHaveLength(2);
    const [first, second] = calls.sort((a, b) => a.start - b.start);
    // With one call in flight at a time, the second starts only after the first was answered.
    expect(second!.start).toBeGreaterThanOrEqual(first!.end - 5);
  });

  it('an alarm call waits out a pause the partner asked for', async () => {
    const gateway = await start([canaryRecord(4)]);
    const pausedAt = await pausePartner(gateway, 'twilio', 1_200);
    await gateway.call('subj-4', 'alarm', { twiml: '<Response><Say>Larm</Say></Response>' });
    const [call] = requestTimes('twilio', (path, method) => method === 'POST' && path.endsWith('/Calls.json'));
    expect(call!.start - pausedAt).toBeGreaterThanOrEqual(1_100);
  });

  it("refuses an alarm when the source answers with another subject's record, calling nobody", async () => {
    // A host bug: asked for subj-5, the source answers with subj-6's record (and phone number).
    const gateway = await start([], {}, { get: async () => canaryRecord(6), scan: async function* () {} });
    await expect(gateway.call('subj-5', 'alarm', { twiml: '<Response/>' })).rejects.toThrow(/id: does not match/);
    expect(partners.requests('twilio')).toHaveLength(0);
    expect(await gateway.audit.list({ partner: 'twilio' })).toHaveLength(0);
  });
});

describe('one plan: a dry run counts exactly what the workers then do', () => {
  it('counts creates, an invalid record and a record whose id does not match as the workers act on them', async () => {
    const valid = [canaryRecord(10), canaryRecord(11), canaryRecord(12)];
    const invalid = { ...canaryRecord(13), email: 'not an email' };
    const mismatched = { ...canaryRecord(14), id: 'subj-99' };
    const records = new Map<string, unknown>([
      ...valid.map((r) => [r.id!, r] as [string, unknown]),
      ['subj-13', invalid],
      ['subj-14', mismatched],
    ]);
    const db = await testDatabase();
    const gateway = await createGateway({
      policy,
      database: db,
      adapters: partners.adapters(),
      // scan() yields every record under its own id; get() answers subj-14 with a record that says subj-99.
      source: {
        get: async (id) => records.get(id) ?? null,
        scan: async function* () {
          for (const [id, record] of records)
            yield id === 'subj-14' ? { ...(record as object), id: 'subj-14' } : record;
        },
      },
      secrets: testSecrets,
      logger: capturedLogger().logger,
      limits: Object.fromEntries(policy.partnerNames.map((p) => [p, { perSecond: undefined }])),
    });
    close = async () => {
      await gateway.stop();
      await db.close();
      await db.drop();
    };
    // Through resync({ subjects }) the records are read with get(), as the workers read them.
    const subjects = [...records.keys()];
    const dry = await gateway.resync({ dryRun: true, subjects });
    expect(dry.invalid).toBe(2);
    const real = await gateway.resync({ subjects });
    await gateway.runUntilIdle();
    expect(real.perPartner).toEqual(dry.perPartner);
    expect(real.invalid).toBe(dry.invalid);
    for (const partner of ['elogistik', 'stripe', 'intercom', 'auth0']) {
      const counts = dry.perPartner[partner]!;
      // An invalid email blocks only the partners sent the email: Stripe (the name only) gets subj-13.
      const expected = partner === 'stripe' ? 4 : 3;
      expect(counts.creates, partner).toBe(expected);
      expect(counts.invalid, partner).toBe(partner === 'stripe' ? 0 : 1);
      const writes = partners
        .requests(partner)
        .filter((r) => r.method !== 'GET' && !r.path.startsWith('/oauth/') && r.status !== null && r.status < 300);
      expect(writes.length, partner).toBe(counts.creates + counts.updates + counts.erasures + counts.suppressions);
      expect(Object.keys(partners.holdings(partner)), partner).toHaveLength(expected);
    }
    // Neither the invalid nor the mismatched record reached any partner; a change to either is a dead
    // letter that says why, without the bad value.
    await gateway.changed('subj-13');
    await gateway.changed('subj-14');
    await gateway.runUntilIdle();
    expect((await gateway.deadLetters('stripe')).map((d) => d.subjectId)).toEqual(['subj-14']);
    const dead = await gateway.deadLetters('elogistik');
    expect(dead.map((d) => d.subjectId).sort()).toEqual(['subj-13', 'subj-14']);
    expect(dead.find((d) => d.subjectId === 'subj-14')!.error).toMatch(/id: does not match/);
    expect(dead.find((d) => d.subjectId === 'subj-13')!.error).toMatch(/email/);
    expect(JSON.stringify(dead)).not.toContain('not an email');
  });
});
