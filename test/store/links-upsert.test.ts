import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/migrate.ts';
import { saveLinks, type LinkUpdate } from '../../src/store/state.ts';
import { engine, testDatabase } from '../support/database.ts';

/**
 * saveLinks' upsert over links that exist and links that do not, in one batch: each column that
 * depends on a per-row flag (consent entry set or not, uncertainty resolved, a conflict, a
 * restriction change, an erasure) keeps, clears or sets exactly as the flag says, row by row.
 */
const opened: Awaited<ReturnType<typeof testDatabase>>[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) {
    await db.close();
    await db.drop();
  }
});

const base: LinkUpdate = { partnerIds: ['p'], digest: 'd1', holds: true, suppressed: false, sentFields: ['email'] };

interface LinkRow {
  subject_id: string;
  consent_entry_applied: string | null;
  restriction_applied: string | null;
  uncertain: boolean;
  conflict_since: Date | null;
  erased: boolean;
  digest: string | null;
}

describe(`saveLinks on ${engine}`, () => {
  it('updates existing and inserts new links in one batch, each flag deciding its own row', async () => {
    const db = await testDatabase();
    opened.push(db);
    await migrate(db);
    const ids = ['sub-keep', 'sub-clear', 'sub-new', 'sub-erased'];
    await db.query(`insert into subjects (id) select unnest($1::text[])`, [ids]);
    await saveLinks(
      db,
      'mailchimp',
      ['sub-keep', 'sub-clear', 'sub-erased'].map((subjectId) => ({
        subjectId,
        update: { ...base, consentEntryApplied: '5', restrictionApplied: 'suppress' },
      })),
    );
    const conflictAt = new Date('2026-01-02T00:00:00Z');
    await db.query(
      `update links set uncertain_since = $1, conflict_since = case when subject_id = 'sub-clear' then $2::timestamptz end`,
      [new Date('2026-01-01T00:00:00Z'), conflictAt],
    );

    await saveLinks(db, 'mailchimp', [
      // No consent entry, no restriction change: both kept. Uncertainty resolved, a conflict noted.
      {
        subjectId: 'sub-keep',
        update: { ...base, digest: 'd2', uncertainResolvedBefore: new Date('2026-01-01T00:00:01Z'), conflict: true },
      },
      // Consent entry cleared, restriction lifted; uncertainty from after the search stays; the
      // conflict noted before stays when this call notes none.
      {
        subjectId: 'sub-clear',
        update: {
          ...base,
          consentEntryApplied: null,
          restrictionApplied: null,
          uncertainResolvedBefore: new Date('2025-12-31T00:00:00Z'),
        },
      },
      // A new link: its own values; a conflict is not noted on a row that did not exist.
      {
        subjectId: 'sub-new',
        update: { ...base, consentEntryApplied: '7', restrictionApplied: 'suppress', conflict: true },
      },
      // An erasure clears the restriction whatever the call says.
      { subjectId: 'sub-erased', update: { ...base, holds: false, erased: true, restrictionApplied: 'suppress' } },
    ]);

    const rows = await db.query<LinkRow>(
      `select subject_id, consent_entry_applied::text as consent_entry_applied, restriction_applied,
         uncertain_since is not null as uncertain, conflict_since, erased_at is not null as erased, digest
       from links where partner = 'mailchimp' order by subject_id`,
    );
    const by = new Map(rows.map((r) => [r.subject_id, r]));
    expect(by.get('sub-keep')).toMatchObject({
      consent_entry_applied: '5',
      restriction_applied: 'suppress',
      uncertain: false,
      digest: 'd2',
    });
    expect(by.get('sub-keep')!.conflict_since).not.toBeNull();
    expect(by.get('sub-clear')).toMatchObject({
      consent_entry_applied: null,
      restriction_applied: null,
      uncertain: true,
    });
    expect(new Date(by.get('sub-clear')!.conflict_since!).getTime()).toBe(conflictAt.getTime());
    expect(by.get('sub-new')).toMatchObject({
      consent_entry_applied: '7',
      restriction_applied: 'suppress',
      uncertain: false,
      conflict_since: null,
    });
    expect(by.get('sub-erased')).toMatchObject({ restriction_applied: null, erased: true, consent_entry_applied: '5' });
  });
});
