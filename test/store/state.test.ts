import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/migrate.ts';
import { createKeys } from '../../src/keys.ts';
import { loadStates, saveLinks } from '../../src/store/state.ts';
import { testSecrets } from '../../src/testing/test-gateway.ts';
import { engine, testDatabase } from '../support/database.ts';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe(`subject state on ${engine}`, () => {
  it('takes the latest consent entry by number, past a digit boundary (id 10 after id 9)', async () => {
    const db = await testDatabase();
    cleanup = async () => {
      await db.close();
      await db.drop();
    };
    await migrate(db);
    // Entries 1..12 alternate grant / withdraw for subj-1; the last one (12) is a withdrawal.
    for (let i = 1; i <= 12; i++) {
      await db.query(
        `insert into consent_ledger (subject_id, purpose, status, source) values ('subj-1', 'marketing', $1, 'test')`,
        [i % 2 ? 'granted' : 'withdrawn'],
      );
    }
    // And for subj-2, nine withdrawals then a grant as entry 22.
    for (let i = 13; i <= 21; i++)
      await db.query(
        `insert into consent_ledger (subject_id, purpose, status, source) values ('subj-2', 'marketing', 'withdrawn', 'test')`,
      );
    await db.query(
      `insert into consent_ledger (subject_id, purpose, status, source) values ('subj-2', 'marketing', 'granted', 'test')`,
    );
    const states = await loadStates(db, createKeys(testSecrets), ['subj-1', 'subj-2']);
    expect(states.get('subj-1')!.directives.consent.marketing).toEqual({ status: 'withdrawn', entryId: '12' });
    expect(states.get('subj-2')!.directives.consent.marketing).toEqual({ status: 'granted', entryId: '22' });
  });
  it('reads back what a link was last sent (time, field list, none) and the policy digest it was noted under', async () => {
    const db = await testDatabase();
    cleanup = async () => {
      await db.close();
      await db.drop();
    };
    await migrate(db);
    const before = Date.now();
    await saveLinks(db, 'stripe', [
      {
        subjectId: 'subj-1',
        update: {
          partnerIds: ['cus_1'],
          digest: 'd1',
          holds: true,
          suppressed: false,
          sentFields: ['email', 'name.given', 'address.postalCode'],
          policyDigest: 'policy-1',
        },
      },
      { subjectId: 'subj-2', update: { partnerIds: [], digest: 'd2', holds: true, suppressed: false, sentFields: [] } },
      { subjectId: 'subj-3', update: { partnerIds: ['cus_3'], digest: null, holds: false, suppressed: false } },
    ]);
    const after = Date.now();
    const states = await loadStates(db, createKeys(testSecrets), ['subj-1', 'subj-2', 'subj-3']);
    const link = (id: string) => states.get(id)!.links.get('stripe')!;
    expect(link('subj-1')).toMatchObject({
      partnerIds: ['cus_1'],
      lastFields: ['email', 'name.given', 'address.postalCode'],
      policyDigest: 'policy-1',
    });
    const sentAt = link('subj-1').lastSentAt!.getTime();
    expect(sentAt).toBeGreaterThanOrEqual(before - 1);
    expect(sentAt).toBeLessThanOrEqual(after + 1);
    expect(link('subj-2')).toMatchObject({ lastFields: [], policyDigest: null });
    expect(link('subj-3')).toMatchObject({
      partnerIds: ['cus_3'],
      lastSentAt: null,
      lastFields: [],
      policyDigest: null,
    });
  });
});
