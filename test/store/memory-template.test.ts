import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { parseDataDirTar } from '../../src/store/data-dir-files.ts';
import { openDatabase } from '../../src/store/database.ts';
import { listMigrations } from '../../src/store/migrate.ts';

const cacheDir = mkdtempSync(join(tmpdir(), 'pgw-template-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

const databaseModule = new URL('../../src/store/database.ts', import.meta.url).pathname;

/** Opens an in-memory database in a new process with the given cache directory; returns what it saw. */
async function openInChild(cacheDirSetting: string): Promise<{ migrations: number; queueTables: number }> {
  const script = `import { openDatabase } from ${JSON.stringify(databaseModule)};
    const db = await openDatabase({ memory: true });
    const [m] = await db.query('select count(*)::int as n from schema_migrations');
    const [q] = await db.query("select count(*)::int as n from information_schema.tables where table_schema = 'partner_gateway_queue'");
    console.log(JSON.stringify({ migrations: m.n, queueTables: q.n }));
    await db.close();`;
  const child = await promisify(execFile)(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script],
    { env: { ...process.env, PARTNER_GATEWAY_CACHE_DIR: cacheDirSetting } },
  );
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as { migrations: number; queueTables: number };
}

async function withEnv<T>(values: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, value] of Object.entries(v)) {
      if (value === undefined) delete process.env[k];
      else process.env[k] = value;
    }
  };
  set(values);
  try {
    return await fn();
  } finally {
    set(saved);
  }
}

describe('in-memory databases from a migrated template', () => {
  it('open with every migration applied and the queue schema installed', async () => {
    const db = await openDatabase({ memory: true });
    try {
      const applied = await db.query<{ version: number }>('select version from schema_migrations order by 1');
      expect(applied.map((r) => r.version)).toEqual(listMigrations().map((m) => m.version));
      const queueTables = await db.query<{ table_name: string }>(
        `select table_name from information_schema.tables where table_schema = 'partner_gateway_queue'`,
      );
      expect(queueTables.map((r) => r.table_name)).toEqual(expect.arrayContaining(['job', 'queue', 'version']));
    } finally {
      await db.close();
    }
  });

  it('are independent of each other', async () => {
    const [a, b] = [await openDatabase({ memory: true }), await openDatabase({ memory: true })];
    try {
      await a.query(`insert into subjects (id) values ('subj-only-in-a')`);
      expect(await a.query(`select id from subjects`)).toEqual([{ id: 'subj-only-in-a' }]);
      expect(await b.query(`select id from subjects`)).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('hold more than their buffer pool and their WAL: written past both, read back whole', async () => {
    const db = await openDatabase({ memory: true });
    try {
      // The smaller pool (pglite-runtime.ts) is in use, and the dump kept one WAL segment of 1 MB.
      expect(await db.query(`show shared_buffers`)).toEqual([{ shared_buffers: '16MB' }]);
      await db.query(`create table big (n int primary key, filler text not null)`);
      // 24 MB of rows (stored uncompressed): pages leave the 16 MB pool and the WAL spans new segments.
      await db.query(`insert into big select n, repeat(md5(n::text), 24) from generate_series(1, 24000) n`);
      await db.query('checkpoint');
      const [row] = await db.query<{ rows: number; bytes: number; size: number }>(
        `select count(*)::int as rows, sum(length(filler))::int as bytes, pg_table_size('big')::int as size from big`,
      );
      expect(row).toMatchObject({ rows: 24000, bytes: 24000 * 768 });
      expect(row!.size).toBeGreaterThan(16 * 1024 * 1024);
      const [wal] = await db.query<{ segments: number }>(`select count(*)::int as segments from pg_ls_waldir()`);
      expect(wal!.segments).toBeGreaterThan(1);
    } finally {
      await db.close();
    }
  });

  it('keeps a schema of its own for a custom schema name, and writes nothing when the cache is off', async () => {
    const cacheRoot = join(cacheDir, 'cache-root');
    const db = await withEnv({ PARTNER_GATEWAY_CACHE_DIR: 'off', CACHE_DIR: cacheRoot }, () =>
      openDatabase({ memory: true, schema: 'other_gateway' }),
    );
    try {
      const [row] = await db.query<{ n: number }>(
        `select count(*)::int as n from information_schema.tables where table_schema = 'other_gateway' and table_name = 'subjects'`,
      );
      expect(row!.n).toBe(1);
      expect(existsSync(cacheRoot)).toBe(false);
    } finally {
      await db.close();
    }
  });

  it("is cached where find-cache-dir says by default (the project's node_modules/.cache, or CACHE_DIR)", async () => {
    const cacheRoot = join(cacheDir, 'cache-root');
    const db = await withEnv({ PARTNER_GATEWAY_CACHE_DIR: undefined, CACHE_DIR: cacheRoot }, () =>
      openDatabase({ memory: true, schema: 'third_gateway' }),
    );
    await db.close();
    expect(readdirSync(join(cacheRoot, 'partner-gateway')).filter((f) => f.endsWith('.tar'))).toHaveLength(1);
  });

  it('is cached on disk for the next process, and rebuilt when the cached file is damaged', async () => {
    const dir = join(cacheDir, 'cache');
    expect(await openInChild(dir)).toMatchObject({
      migrations: listMigrations().length,
      queueTables: expect.any(Number),
    });
    const files = readdirSync(dir).filter((f) => f.endsWith('.tar'));
    expect(files).toHaveLength(1);
    const path = join(dir, files[0]!);
    const written = statSync(path).mtimeMs;

    // The next process reads the file instead of building (the file is left as it was).
    expect((await openInChild(dir)).migrations).toBe(listMigrations().length);
    expect(statSync(path).mtimeMs).toBe(written);

    writeFileSync(path, 'not a tarball');
    const again = await openInChild(dir);
    expect(again.migrations).toBe(listMigrations().length);
    expect(again.queueTables).toBeGreaterThan(0);
    expect(statSync(path).size).toBeGreaterThan(1_000_000);
    // Three processes, two of which build the template (initdb): slow on a loaded machine.
  }, 120_000);
  it('are independent of each other when the template is read from the cache file', async () => {
    // The cached file is read into a Buffer, and MEMFS copies a Buffer's slice() by reference: each
    // database then wrote into the template, and the next one opened replayed the WAL before it.
    const dir = join(cacheDir, 'isolation');
    await openInChild(dir);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tar'))).toHaveLength(1);
    const script = `import { openDatabase } from ${JSON.stringify(databaseModule)};
      const seen = async (db) => (await db.query("select count(*)::int as n from pg_class where relname = 'only_in_a'"))[0].n
        + (await db.query("select count(*)::int as n from subjects where id = 'subj-canary-only-in-a'"))[0].n;
      const a = await openDatabase({ memory: true });
      await a.query('create table only_in_a (n int)');
      await a.query("insert into subjects (id) values ('subj-canary-only-in-a')");
      const b = await openDatabase({ memory: true });
      const whileOpen = await seen(b);
      await a.close();
      const c = await openDatabase({ memory: true });
      console.log(JSON.stringify({ a: await seen(a).catch(() => 'closed'), whileOpen, afterClose: await seen(c) }));
      await b.close(); await c.close();`;
    const child = await promisify(execFile)(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script],
      { env: { ...process.env, PARTNER_GATEWAY_CACHE_DIR: dir } },
    );
    expect(JSON.parse(child.stdout.trim().split('\n').pop()!)).toEqual({ a: 'closed', whileOpen: 0, afterClose: 0 });
  }, 60_000);
});

describe('the template archive', () => {
  it('is refused when cut short, so a damaged cache file is rebuilt rather than loaded half', async () => {
    const db = new PGlite();
    const tar = new Uint8Array(await (await db.dumpDataDir('none')).arrayBuffer());
    await db.close();
    const whole = parseDataDirTar(tar);
    expect(whole.files.map((f) => f.path)).toEqual(expect.arrayContaining(['/PG_VERSION', '/global/pg_control']));
    expect(whole.dirs.indexOf('/base')).toBeLessThan(whole.dirs.indexOf('/base/1'));
    expect(() => parseDataDirTar(tar.subarray(0, Math.floor(tar.length / 2)))).toThrow(/tar archive/);
    expect(() => parseDataDirTar(tar.subarray(0, tar.length - 1024))).toThrow(/tar archive/);
  });
});
