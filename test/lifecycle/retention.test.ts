import { afterEach, describe, expect, it } from 'vitest';
import { canaryRecord } from '../support/records.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { permanent } from '../support/memory-adapter.ts';
import { count, webConsent } from './helpers.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ended = { start: new Date('2025-01-01T00:00:00Z'), end: new Date('2026-01-31T22:59:00Z') };
const rowsOf = (id: string) =>
  `select 'log' from transfer_log where subject_id = '${id}' union all select 'ledger' from consent_ledger where subject_id = '${id}'
   union all select 'tombstone' from tombstones where subject_id = '${id}' union all select 'link' from links where subject_id = '${id}'
   union all select 'subject' from subjects where id = '${id}'`;

describe('retention purge', () => {
  it('removes a subject one year after the relationship ended and the erasure completed, and the log still verifies', async () => {
    h = await startHarness({
      records: [
        canaryRecord(1, { subscription: ended }),
        canaryRecord(2),
        canaryRecord(3, { subscription: { ...ended, end: new Date('2026-02-10T12:00:00Z') } }),
      ],
    });
    h.clock.now = new Date('2026-01-20T10:00:00Z');
    for (const id of ['subj-1', 'subj-2', 'subj-3']) {
      await h.gateway.consent.grant(id, 'marketing', webConsent);
      await h.gateway.changed(id);
    }
    await h.gateway.runUntilIdle();
    await h.gateway.restrict('subj-2', 'objection pending');

    h.clock.now = new Date('2026-02-01T08:00:00Z');
    expect(await h.gateway.processDueErasures()).toBe(1);
    await h.gateway.runUntilIdle();
    await h.gateway.processDueErasures();
    // subj-3's erasure (due 1 March) fails for good at E-logistik: it still holds data, so its records must stay.
    h.clock.now = new Date('2026-03-01T08:00:00Z');
    h.adapters.get('elogistik')!.failNext(permanent('elogistik'));
    expect(await h.gateway.processDueErasures()).toBe(1);
    await h.gateway.runUntilIdle();
    await h.gateway.processDueErasures();
    expect((await h.gateway.erasureStatus('subj-1')).complete).toBe(true);
    expect((await h.gateway.erasureStatus('subj-3')).complete).toBe(false);
    const subj1Rows = await count(h, `select 1 from transfer_log where subject_id = 'subj-1'`);
    const subj2Before = await count(h, rowsOf('subj-2'));
    const subj3Before = await count(h, rowsOf('subj-3'));
    expect(subj1Rows).toBeGreaterThan(0);

    h.clock.now = new Date('2027-01-31T22:58:00Z'); // not yet a year
    expect(await h.gateway.purgeExpired()).toEqual({
      subjects: 0,
      logRowsPurged: 0,
      ledgerRowsPurged: 0,
      tombstonesPurged: 0,
    });

    h.clock.now = new Date('2027-03-02T00:00:00Z');
    const result = await h.gateway.purgeExpired();
    expect(result).toEqual({ subjects: 1, logRowsPurged: subj1Rows, ledgerRowsPurged: 1, tombstonesPurged: 1 });
    expect(await count(h, rowsOf('subj-1'))).toBe(0);
    expect(await count(h, rowsOf('subj-2'))).toBe(subj2Before);
    expect(await count(h, rowsOf('subj-3'))).toBe(subj3Before);

    const purged = await h.gateway.database.query<Record<string, unknown>>(
      `select * from transfer_log where purged_at is not null`,
    );
    expect(purged).toHaveLength(subj1Rows);
    for (const row of purged) {
      expect(row).toMatchObject({
        subject_id: null,
        partner_id: null,
        operator: null,
        payload_digest: null,
        fields: [],
        categories: [],
        correlation_id: 'purged',
        policy_digest: 'purged',
      });
      expect(row.chain_pos).not.toBeNull();
      expect(row.content_hash).toMatch(/^[0-9a-f]{64}$/);
    }
    const event = await h.gateway.audit.list({ kind: 'event' });
    expect(event.filter((e) => e.operation === 'retention_purge').map((e) => [e.subjectId, e.trigger])).toEqual([
      [null, 'retention'],
    ]);
    // Purged rows are out of listings too.
    expect(await h.gateway.audit.list({ subjectId: 'subj-1' })).toEqual([]);

    const verified = await h.gateway.audit.verify();
    expect(verified.problems).toEqual([]);
    expect(verified.ok).toBe(true);
    expect(verified.purgedRows).toBe(subj1Rows);

    // The chain goes on after a purge, and still verifies.
    await h.gateway.changed('subj-2');
    await h.gateway.unrestrict('subj-2');
    await h.gateway.runUntilIdle();
    expect((await h.gateway.audit.verify()).ok).toBe(true);
    expect(await h.gateway.purgeExpired()).toMatchObject({ subjects: 0 });
  });

  it('an edit to a purged row is still caught by verify', async () => {
    h = await startHarness({ records: [canaryRecord(4)] });
    await h.gateway.changed('subj-4');
    await h.gateway.runUntilIdle();
    await h.gateway.erase('subj-4', { reason: 'data subject request' });
    await h.gateway.runUntilIdle();
    await h.gateway.processDueErasures();
    h.clock.now = new Date('2027-03-11T00:00:00Z');
    expect((await h.gateway.purgeExpired()).subjects).toBe(1);
    expect((await h.gateway.audit.verify()).ok).toBe(true);
    await h.gateway.database.query(
      `update transfer_log set content_hash = repeat('0', 64) where seq = (select min(seq) from transfer_log where purged_at is not null)`,
    );
    const verified = await h.gateway.audit.verify();
    expect(verified.ok).toBe(false);
  });
});
