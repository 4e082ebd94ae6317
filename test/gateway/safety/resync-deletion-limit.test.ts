/**
 * Issue 10.1, the resync side: a resync whose source lost many records (a partial scan, a host bug)
 * deletes nothing and says so, unless the operator overrides, which the transfer log records.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canaryRecords, startTestPartners, type TestPartners } from '../../../src/testing/index.ts';
import { startGateway, type Running } from './helpers.ts';

let partners: TestPartners;
let running: Running | undefined;
beforeAll(async () => {
  partners = await startTestPartners({ partners: ['stripe', 'elogistik', 'intercom', 'auth0', 'mailchimp'] });
});
afterAll(() => partners.stop());
afterEach(async () => {
  await running?.close();
  running = undefined;
  partners.reset();
});

async function tenSynced(): Promise<Running> {
  const run = await startGateway(partners, canaryRecords(10));
  await run.gateway.resync();
  await run.gateway.runUntilIdle();
  expect(Object.keys(partners.holdings('stripe'))).toHaveLength(10);
  return run;
}

describe('the resync deletion limit', () => {
  it('a source that lost 30% of its records: the resync deletes nothing, notes nothing missing, and says why', async () => {
    running = await tenSynced();
    const { gateway, source } = running;
    for (const id of ['subj-1', 'subj-2', 'subj-3']) source.delete(id);
    const dry = await gateway.resync({ dryRun: true });
    const summary = await gateway.resync();
    await gateway.runUntilIdle();
    for (const s of [dry, summary]) {
      expect(s.deletions).toEqual({
        subjects: 3,
        held: 10,
        limit: { count: 100, share: 0.1 },
        refused: true,
        overridden: false,
      });
      expect(s.perPartner.stripe?.missing).toBe(3);
    }
    expect(summary.enqueued).toBe(0);
    expect(Object.keys(partners.holdings('stripe'))).toHaveLength(10);
    expect((await gateway.status()).missingRecords.count).toBe(0);
  });

  it('with the override, logged with the operator, the lost records are noted missing (erased after the grace period)', async () => {
    running = await tenSynced();
    const { gateway, source } = running;
    for (const id of ['subj-1', 'subj-2', 'subj-3']) source.delete(id);
    const summary = await gateway.resync({ allowMassDeletion: true, operator: 'ops-kim' });
    await gateway.runUntilIdle();
    expect(summary.deletions).toMatchObject({ subjects: 3, refused: false, overridden: true });
    const status = await gateway.status();
    expect(status.missingRecords.oldest.map((m) => m.subjectId)).toEqual(['subj-1', 'subj-2', 'subj-3']);
    const events = (await gateway.audit.list({})).filter((r) => r.operation === 'resync_mass_deletion');
    expect(events.map((e) => e.operator)).toEqual(['ops-kim']);
    // Still held: the grace period runs first.
    expect(Object.keys(partners.holdings('stripe'))).toHaveLength(10);
  });

  it('one subject of ten gone is under the limit: noted missing without an override', async () => {
    running = await tenSynced();
    const { gateway, source } = running;
    source.delete('subj-4');
    const summary = await gateway.resync();
    await gateway.runUntilIdle();
    expect(summary.deletions).toMatchObject({ subjects: 1, refused: false, overridden: false });
    expect((await gateway.status()).missingRecords.oldest.map((m) => m.subjectId)).toEqual(['subj-4']);
  });

  it("the limit is the host's to set", async () => {
    running = await startGateway(partners, canaryRecords(10), { resyncDeletionLimit: { share: 0.5 } });
    const { gateway, source } = running;
    await gateway.resync();
    await gateway.runUntilIdle();
    for (const id of ['subj-1', 'subj-2', 'subj-3']) source.delete(id);
    expect((await gateway.resync({ dryRun: true })).deletions).toMatchObject({ refused: false, limit: { share: 0.5 } });
  });
});
