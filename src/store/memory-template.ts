/**
 * In-memory PGlite databases start from a data directory prepared once. initdb and the migrations
 * cost seconds (most of it PGlite's initdb); loading a dump of their result costs a fraction of one,
 * so a test suite that opens a database per test pays for initdb once instead of every time.
 *
 * The dump is kept in this process, parsed into its files (data-dir-files.ts writes them straight
 * into each new instance), and, when a cache directory is writable, on disk as an uncompressed tar
 * under a name derived from everything that shapes it (PGlite's version, the recipe's key), so the
 * next process (every vitest worker, every run) skips initdb too. A dump that cannot be read or
 * loaded is rebuilt. Instances run PGlite's WebAssembly compiled once per process with a smaller
 * shared buffer pool (pglite-runtime.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import findCacheDirectory from 'find-cache-dir';
import { DataDirMemoryFS, parseDataDirTar, type DataDirFiles } from './data-dir-files.ts';
import { pgliteRuntime } from './pglite-runtime.ts';

export interface TemplateRecipe {
  /** Changes whenever prepare() would build something different (migrations, schema names, versions). */
  readonly key: string;
  /** Builds the template's content on a fresh database. */
  prepare(db: PGlite): Promise<void>;
}

// PGlite's package.json is not in its exports map: find it beside the entry point.
const pgliteVersion = (
  JSON.parse(
    readFileSync(
      join(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')), '..', 'package.json'),
      'utf8',
    ),
  ) as { version: string }
).version;

interface Template {
  readonly files: DataDirFiles;
  /** Read from the cache directory, so possibly stale or damaged; a dump built here is trusted. */
  readonly cached: boolean;
}

const inProcess = new Map<string, Promise<Template>>();

/** A fresh in-memory PGlite holding what the recipe prepares. */
export async function openFromTemplate(recipe: TemplateRecipe): Promise<PGlite> {
  const mark = createHash('sha256').update(`${pgliteVersion}\n${recipe.key}`).digest('hex').slice(0, 16);
  const name = `pglite-${pgliteVersion}-${mark}.tar`;
  const template = await remember(name, () => readOrBuild(name, recipe, mark));
  try {
    return await start(template.files, mark);
  } catch (error) {
    if (!template.cached) throw error;
    // A truncated or foreign file in the cache: build the template again, here and on disk.
    inProcess.delete(name);
    const rebuilt = await remember(name, () => buildAndStore(name, recipe, mark));
    return start(rebuilt.files, mark);
  }
}

function remember(name: string, make: () => Promise<Template>): Promise<Template> {
  let template = inProcess.get(name);
  if (!template) {
    template = make();
    inProcess.set(name, template);
    // A failed build must not stay remembered: the next open tries again.
    template.catch(() => inProcess.delete(name));
  }
  return template;
}

async function start(files: DataDirFiles, mark: string): Promise<PGlite> {
  const db = new PGlite({ ...(await pgliteRuntime()), fs: new DataDirMemoryFS(files) });
  await db.waitReady;
  // PGlite runs initdb over a data directory it cannot use: only the mark proves this is the template.
  const [row] = (
    await db.query<{ mark: string | null }>(
      `select shobj_description(oid, 'pg_database') as mark from pg_database where datname = current_database()`,
    )
  ).rows;
  if (row?.mark !== mark) {
    await db.close();
    throw new Error('the database template did not load');
  }
  return db;
}

async function readOrBuild(name: string, recipe: TemplateRecipe, mark: string): Promise<Template> {
  const dir = cacheDirectory();
  const cached = dir ? readCached(join(dir, name)) : undefined;
  return cached ? { files: cached, cached: true } : buildAndStore(name, recipe, mark);
}

async function buildAndStore(name: string, recipe: TemplateRecipe, mark: string): Promise<Template> {
  const dump = await build(recipe, mark);
  const dir = cacheDirectory();
  if (dir) writeCached(dir, join(dir, name), dump);
  return { files: parseDataDirTar(dump), cached: false };
}

async function build(recipe: TemplateRecipe, mark: string): Promise<Uint8Array> {
  const db = new PGlite({ ...(await pgliteRuntime()) });
  let built: Uint8Array;
  try {
    await db.waitReady;
    await recipe.prepare(db);
    const [{ name }] = (await db.query<{ name: string }>(`select quote_ident(current_database()) as name`)).rows as [
      { name: string },
    ];
    await db.exec(`comment on database ${name} is '${mark}'`);
    built = await settledDump(db);
  } finally {
    await db.close();
  }
  // The migrations' DDL invalidated the relation cache's init files (global/ and base/1/
  // pg_internal.init), so every instance would rebuild them from the catalogs at start; an instance
  // started once writes them, and a dump of that one hands them to every later start.
  const warm = new PGlite({ ...(await pgliteRuntime()), fs: new DataDirMemoryFS(parseDataDirTar(built)) });
  try {
    await warm.waitReady;
    return await settledDump(warm);
  } finally {
    await warm.close();
  }
}

/**
 * The data directory with the WAL replayed into the data files (so a database loaded from it starts
 * clean) and only the WAL a restart reads. Uncompressed: it loads faster, and it lives in memory or
 * in a cache directory, never on a wire.
 */
async function settledDump(db: PGlite): Promise<Uint8Array> {
  await db.exec('checkpoint');
  dropUnusedWal(db, await walSegmentsInUse(db));
  return new Uint8Array(await (await db.dumpDataDir('none')).arrayBuffer());
}

/** The WAL segments from the last checkpoint's redo point to the insert position: all a restart reads. */
async function walSegmentsInUse(db: PGlite): Promise<{ first: string; last: string }> {
  const [row] = (
    await db.query<{ first: string; last: string }>(
      `select pg_walfile_name(redo_lsn) as first, pg_walfile_name(pg_current_wal_insert_lsn() + 1) as last
         from pg_control_checkpoint()`,
    )
  ).rows;
  return row!;
}

/**
 * The checkpoint leaves the segments it recycled for later use (4 of the dump's 5 MB of WAL): every
 * instance would copy them at start. PostgreSQL makes new segments when it needs them.
 */
function dropUnusedWal(db: PGlite, inUse: { first: string; last: string }): void {
  const fs = db.Module.FS;
  const walDir = '/tmp/pglite/base/pg_wal';
  for (const name of fs.readdir(walDir)) {
    if (/^[0-9A-F]{24}$/.test(name) && (name < inUse.first || name > inUse.last)) fs.unlink(`${walDir}/${name}`);
  }
}

/**
 * PARTNER_GATEWAY_CACHE_DIR names the directory; `off` keeps the template in this process only.
 * Otherwise node_modules/.cache/partner-gateway of the project run from (find-cache-dir, which also
 * honours CACHE_DIR), or none when that is not writable.
 */
function cacheDirectory(): string | undefined {
  const configured = process.env.PARTNER_GATEWAY_CACHE_DIR;
  if (configured === 'off') return undefined;
  if (configured) return configured;
  return findCacheDirectory({ name: 'partner-gateway' });
}

/** The cached template's files, or undefined when there is none or it is not a complete archive. */
function readCached(path: string): DataDirFiles | undefined {
  try {
    return parseDataDirTar(readFileSync(path));
  } catch {
    return undefined;
  }
}

/** Written under a temporary name and renamed, so a process reading at the same time never sees half a file. */
function writeCached(dir: string, path: string, dump: Uint8Array): void {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(temporary, dump);
    renameSync(temporary, path);
  } catch {
    // A cache that cannot be written costs time, not correctness.
    rmSync(temporary, { force: true });
  }
}
