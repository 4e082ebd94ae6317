/**
 * The transfer log writes one row with a plain values insert and several with unnest: the same
 * content must land the same either way, and its writer tag must match what is stored.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditKeys } from '../../src/keys.ts';
import { contentColumns, contentHash, writerTag } from '../../src/log/row-content.ts';
import { writeEvent, writeIntents, writeOutcomes, type IntentRow } from '../../src/log/transfer-log.ts';
import { migrate } from '../../src/store/migrate.ts';
import { testDatabase } from '../support/database.ts';

const keyring = createAuditKeys({ pseudonymKey: 'insert-forms-test-pseudonym-key-01' }, {});
let db: Awaited<ReturnType<typeof testDatabase>>;
beforeEach(async () => {
  db = await testDatabase();
  await migrate(db);
});
afterEach(async () => {
  await db.close();
  await db.drop();
});

const intent = (subjectId: string, fields: string[]): IntentRow => ({
  subjectId,
  partner: 'elogistik',
  operation: 'upsert',
  purpose: 'fulfilment',
  legalBasis: 'contract',
  trigger: 'change',
  correlationId: `corr-${subjectId}`,
  fields,
  categories: fields.length > 0 ? ['name', 'address'] : [],
  payloadDigest: 'ab'.repeat(32),
  attempt: 1,
  policyDigest: 'cd'.repeat(32),
});

/** What was stored for the subject's rows, without the seq, the time and the intent link. */
async function stored(subjectId: string) {
  const rows = await db.query<Record<string, unknown>>(
    `select ${contentColumns()}, writer_mac from transfer_log where subject_id = $1 order by seq`,
    [subjectId],
  );
  for (const row of rows) expect(row.writer_mac).toBe(writerTag(keyring, contentHash(row)));
  return rows.map(({ seq: _s, at_us: _a, intent_seq: _i, writer_mac: _w, ...rest }) => rest);
}

describe('transfer log inserts', () => {
  it('store the same content, tagged over what is stored, for one row and for several', async () => {
    const cases: [string, string[]][] = [
      ['one', ['name.first', 'address.city']],
      ['many-a', ['name.first', 'address.city']],
      ['many-b', []],
    ];
    const [single] = await writeIntents(db, [intent('one', cases[0]![1])], keyring);
    const batch = await writeIntents(db, [intent('many-a', cases[1]![1]), intent('many-b', [])], keyring);
    await writeOutcomes(db, [{ intentSeq: single!, outcome: 'ok', httpStatus: 200, durationMs: 12.4 }], keyring);
    await writeOutcomes(
      db,
      batch.map((intentSeq) => ({ intentSeq, outcome: 'ok', httpStatus: 200, durationMs: 12.4 })),
      keyring,
    );
    await writeEvent(
      db,
      {
        subjectId: 'one',
        operation: 'consent_grant',
        trigger: 'consent',
        correlationId: 'c1',
        policyDigest: 'cd'.repeat(32),
      },
      keyring,
    );

    const one = await stored('one');
    const manyA = await stored('many-a');
    expect(one.slice(0, 2)).toEqual(manyA.map((row) => ({ ...row, subject_id: 'one', correlation_id: 'corr-one' })));
    expect(one[0]).toMatchObject({
      kind: 'intent',
      fields: ['name.first', 'address.city'],
      categories: ['name', 'address'],
    });
    expect(one[1]).toMatchObject({ kind: 'outcome', outcome: 'ok', http_status: 200, duration_ms: 12 });
    expect(one[2]).toMatchObject({ kind: 'event', operation: 'consent_grant', fields: [], partner: null });
    expect((await stored('many-b'))[0]).toMatchObject({ fields: [], categories: [] });
  });

  it('refuses a field name with a comma in either form, writing nothing', async () => {
    await expect(writeIntents(db, [intent('c1', ['a,b'])], keyring)).rejects.toThrow(/fields: a name contains a comma/);
    await expect(writeIntents(db, [intent('c2', []), intent('c3', ['a,b'])], keyring)).rejects.toThrow(/comma/);
    const [{ n }] = (await db.query<{ n: number }>(`select count(*)::int as n from transfer_log`)) as [{ n: number }];
    expect(n).toBe(0);
  });
});
