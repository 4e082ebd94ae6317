import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { listMigrations, migrate } from '../../src/store/migrate.ts';
import { engine, testDatabase } from '../support/database.ts';

const opened: (Database & { drop?: () => Promise<void> })[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) {
    await db.close().catch(() => undefined);
    await db.drop?.();
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

describe(`store on ${engine}`, () => {
  it('applies every migration once, and again is a no-op', async () => {
    // An in-memory PGlite comes migrated (from the template): a fresh directory is a blank database.
    const db = engine === 'postgres' ? await testDatabase() : await openDatabase({ dataDir: tempDir('pgw-migrate-') });
    opened.push(db);
    const all = listMigrations().map((m) => m.version);
    expect(await migrate(db)).toEqual(all);
    expect(await migrate(db)).toEqual([]);
    const tables = (
      await db.query<{ table_name: string }>(
        `select table_name from information_schema.tables where table_schema = $1 order by 1`,
        [db.schema],
      )
    ).map((r) => r.table_name);
    expect(tables).toEqual(
      expect.arrayContaining([
        'subjects',
        'links',
        'consent_ledger',
        'tombstones',
        'transfer_log',
        'log_chain',
        'rate_limits',
        'schema_migrations',
      ]),
    );
  });

  it.runIf(engine === 'postgres')('lets processes starting together migrate without racing', async () => {
    const first = await testDatabase();
    opened.push(first);
    const url = process.env.PARTNER_GATEWAY_TEST_DATABASE_URL!;
    const others = await Promise.all([1, 2, 3].map(() => openDatabase({ url, schema: first.schema, poolSize: 2 })));
    opened.push(...others);
    const results = await Promise.all([first, ...others].map((db) => migrate(db)));
    expect(results.flat().sort((a, b) => a - b)).toEqual(listMigrations().map((m) => m.version));
  });

  it.runIf(engine === 'postgres')(
    'prepares a statement with parameters once per connection, and none with prepare: false',
    async () => {
      const first = await testDatabase();
      opened.push(first);
      const url = process.env.PARTNER_GATEWAY_TEST_DATABASE_URL!;
      const prepared = async (prepare: boolean) => {
        const db = await openDatabase({ url, schema: first.schema, poolSize: 1, prepare });
        opened.push(db);
        const answers: unknown[] = [];
        for (const n of [1, 2, 3]) answers.push(await db.query(`select $1::int + 1 as next`, [n]));
        // pg_prepared_statements is per connection: with a pool of one, this is the connection above.
        const statements = await db.query<{ statement: string }>(
          `select statement from pg_prepared_statements where statement like $1`,
          ['%$1::int + 1%'],
        );
        return { answers, statements: statements.map((s) => s.statement) };
      };
      const on = await prepared(true);
      const off = await prepared(false);
      expect(on.answers).toEqual([[{ next: 2 }], [{ next: 3 }], [{ next: 4 }]]);
      expect(off.answers).toEqual(on.answers);
      // Three runs, one statement prepared (the probe's own text does not match its filter).
      expect(on.statements).toEqual(['select $1::int + 1 as next']);
      expect(off.statements).toEqual([]);
    },
  );
});

describe('embedded store in a directory', () => {
  it('keeps a second process out with an error that says what to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-lock-'));
    dirs.push(dir);
    const db = await openDatabase({ dataDir: dir });
    opened.push(db);
    const script = `import { openDatabase } from ${JSON.stringify(new URL('../../src/store/database.ts', import.meta.url).pathname)};
      try { await openDatabase({ dataDir: ${JSON.stringify(dir)} }); console.log('opened'); } catch (e) { console.log(e.message); }`;
    const output = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [
        '--disable-warning=ExperimentalWarning',
        '--input-type=module',
        '-e',
        script,
      ]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += String(d)));
      child.on('exit', () => resolve(out));
    });
    expect(output).toContain(`the embedded database in ${dir} is in use by process ${process.pid}`);
    expect(output).toContain('PARTNER_GATEWAY_DATABASE_URL');
    // And in this process too.
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(/already open in this process/);
  });

  it('keeps data across reopening, and frees the directory on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-reopen-'));
    dirs.push(dir);
    const db = await openDatabase({ dataDir: dir });
    await migrate(db);
    await db.query(`insert into subjects (id) values ('subj-1')`);
    await db.close();
    const again = await openDatabase({ dataDir: dir });
    opened.push(again);
    expect(await again.query(`select id from subjects`)).toEqual([{ id: 'subj-1' }]);
  });
});
