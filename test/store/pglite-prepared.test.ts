import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { preparedQuery } from '../../src/store/pglite-prepared.ts';
import { engine } from '../support/database.ts';

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close().catch(() => undefined);
});

async function memory(): Promise<Database & { pglite: PGlite }> {
  const db = await openDatabase({ memory: true });
  opened.push(db);
  return Object.assign(db, { pglite: (db.boss as { pglite: PGlite }).pglite });
}

async function preparedTexts(db: Database, like: string): Promise<string[]> {
  const rows = await db.query<{ statement: string }>(
    `select statement from pg_prepared_statements where statement like '${like}' order by statement`,
  );
  return rows.map((r) => r.statement);
}

const TYPED = `select $1::int as n, $2::bigint as big, $3::text[] as names, $4::jsonb as doc,
  $5::timestamptz as at, $6::boolean as yes, $7::text as none, $8::numeric as amount, $9::bytea as raw`;

// PGlite only (the PostgreSQL run skips it): PostgreSQL's named statements are pg's, tested in store.test.ts.
describe.skipIf(engine === 'postgres')('PGlite statements with parameters run prepared', () => {
  it('prepares a text once and returns what PGlite query() returns, type for type', async () => {
    const db = await memory();
    const params = (n: number) => [
      n,
      9_007_199_254_740_993n,
      ['a', 'b,c', 'd"e'],
      { k: [1, 'two', null], n },
      new Date(Date.UTC(2026, 11, 4, 12, 0, n)),
      n % 2 === 0,
      null,
      '12.50',
      new Uint8Array([0, 255, n]),
    ];
    for (const n of [1, 2, 3]) {
      const ours = await db.query(TYPED, params(n));
      const theirs = (await db.pglite.query(TYPED, params(n))).rows;
      expect(ours).toEqual(theirs);
      expect(ours[0]).toMatchObject({ n, names: ['a', 'b,c', 'd"e'], doc: { k: [1, 'two', null], n }, none: null });
    }
    // Three runs and a transaction's run, one prepared statement.
    await db.transaction((tx) => tx.query(TYPED, params(4)));
    expect(await preparedTexts(db, 'select $1::int as n%')).toEqual([TYPED]);
  });

  it('plans every run with its own values (no generic plan: PGlite has no autovacuum to replace one)', async () => {
    const inMemory = await memory();
    const dir = mkdtempSync(join(tmpdir(), 'pgw-plans-'));
    const inDirectory = await openDatabase({ dataDir: dir });
    opened.push(inDirectory, { close: async () => rmSync(dir, { recursive: true, force: true }) });
    for (const db of [inMemory, inDirectory])
      expect(await db.query(`select current_setting('plan_cache_mode') as mode`)).toEqual([
        { mode: 'force_custom_plan' },
      ]);
  });

  it('an error leaves the statement and the connection usable; in a transaction it rolls the transaction back', async () => {
    const db = await memory();
    await db.query(`create table t (id int primary key)`);
    const insert = `insert into t (id) values ($1)`;
    await db.query(insert, [1]);
    await expect(db.query(insert, [1])).rejects.toMatchObject({ code: '23505' });
    await db.query(insert, [2]);
    await expect(
      db.transaction(async (tx) => {
        await tx.query(insert, [3]);
        await tx.query(insert, [1]);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    await db.transaction((tx) => tx.query(insert, [4]));
    expect(await db.query<{ id: number }>(`select id from t order by id`)).toEqual([{ id: 1 }, { id: 2 }, { id: 4 }]);
    expect(await preparedTexts(db, 'insert into t%')).toEqual([insert]);
  });

  it('a text the server refuses is not remembered, and a statement prepared in a rolled-back transaction stays', async () => {
    const db = await memory();
    const broken = `select $1::int from no_such_table`;
    for (let i = 0; i < 2; i++) await expect(db.query(broken, [1])).rejects.toMatchObject({ code: '42P01' });
    await db.query(`create table no_such_table (n int)`);
    expect(await db.query(broken, [1])).toEqual([]);

    const probe = `select $1::int * 2 as twice`;
    await expect(
      db.transaction(async (tx) => {
        expect(await tx.query(probe, [2])).toEqual([{ twice: 4 }]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await db.query(probe, [3])).toEqual([{ twice: 6 }]);
    expect(await preparedTexts(db, 'select $1::int%')).toEqual([probe, broken].sort());
  });

  it('a statement outside a transaction waits for the transaction in progress, as PGlite query() does', async () => {
    const db = await memory();
    await db.query(`create table t (id int)`);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const insertedOne = new Promise<void>((r) => (inserted = r));
    const transaction = db.transaction(async (tx) => {
      await tx.query(`insert into t (id) values ($1)`, [1]);
      inserted();
      await held;
      await tx.query(`insert into t (id) values ($1)`, [2]);
    });
    await insertedOne;
    // Run on the one connection mid-transaction, this count would see 1 row and join the transaction.
    const counted = db.query<{ n: number }>(`select count(*)::int as n from t where id > $1`, [0]);
    release();
    await transaction;
    expect(await counted).toEqual([{ n: 2 }]);
  });

  it('past the cap a text is left to PGlite query(); two wrappers of one PGlite never prepare one name twice', async () => {
    const pglite = new PGlite();
    await pglite.waitReady;
    opened.push(pglite);
    const first = preparedQuery(pglite, 2);
    const second = preparedQuery(pglite, 2);
    expect(await first(`select $1::int as a`, [1], false)).toEqual([{ a: 1 }]);
    expect(await second(`select $1::int as b`, [2], false)).toEqual([{ b: 2 }]);
    expect(await first(`select $1::int as c`, [3], false)).toBeUndefined();
    expect(await second(`select $1::int as a`, [4], false)).toEqual([{ a: 4 }]);
    const { rows } = await pglite.query<{ n: number }>(`select count(*)::int as n from pg_prepared_statements`);
    expect(rows).toEqual([{ n: 2 }]);
  });
});
