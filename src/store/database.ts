import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { getConstructionPlans } from 'pg-boss';
import { acquireDirectoryLock, type DirectoryLock } from './directory-lock.ts';
import { openFromTemplate, type TemplateRecipe } from './memory-template.ts';
import { MAX_PREPARED, preparedQuery } from './pglite-prepared.ts';
import { migrate, migrationsDigest } from './migrate.ts';

/** The one SQL surface the core uses, the same on PGlite and on PostgreSQL. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface Database extends Sql {
  readonly engine: 'pglite' | 'postgres';
  /** The schema holding the gateway's tables. */
  readonly schema: string;
  /** Runs fn in one transaction. Never hold one across a partner call (DESIGN §5). */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** What pg-boss needs to run on the same database. */
  readonly boss: { pglite: PGlite } | { connectionString: string };
  close(): Promise<void>;
}

export type DatabaseOptions =
  | {
      url: string;
      schema?: string;
      poolSize?: number;
      /**
       * Prepare the gateway's statements on each connection (default true). Set false behind a
       * connection pooler that cannot keep them (PgBouncer in transaction mode before 1.21).
       */
      prepare?: boolean;
    }
  | { dataDir: string; schema?: string }
  | { memory: true; schema?: string };

/**
 * PostgreSQL when a url is given (or PARTNER_GATEWAY_DATABASE_URL is set), otherwise embedded PGlite
 * in a directory (default ./.partner-gateway) or in memory. An in-memory database opens with the
 * migrations and the queue's tables in place, loaded from a template made once (memory-template.ts).
 */
export async function openDatabase(options?: DatabaseOptions, env: NodeJS.ProcessEnv = process.env): Promise<Database> {
  const resolved =
    options ??
    (env.PARTNER_GATEWAY_DATABASE_URL ? { url: env.PARTNER_GATEWAY_DATABASE_URL } : { dataDir: './.partner-gateway' });
  const schema = resolved.schema ?? 'partner_gateway';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema) || schema.startsWith('pg_')) {
    throw new Error(
      `database schema name ${JSON.stringify(schema)} must be lower_snake_case and must not start with pg_`,
    );
  }
  if ('url' in resolved) return openPostgres(resolved.url, schema, resolved.poolSize ?? 10, resolved.prepare ?? true);
  return 'dataDir' in resolved ? openPglite(resolved.dataDir, schema) : openPglite(undefined, schema);
}

async function openPglite(dataDir: string | undefined, schema: string): Promise<Database> {
  const lock: DirectoryLock | undefined = dataDir ? acquireDirectoryLock(dataDir) : undefined;
  let db: PGlite;
  try {
    if (dataDir) {
      // PGlite wants a directory of its own (initdb refuses a non-empty one); the lock sits beside it.
      db = new PGlite(join(dataDir, 'pgdata'));
      await db.waitReady;
    } else {
      db = await openFromTemplate(memoryRecipe(schema));
    }
    // Custom plans for prepared statements (pglite-prepared.ts): PGlite runs no autovacuum, whose
    // ANALYZE is what makes PostgreSQL replace a generic plan as the tables grow. Under generic plans
    // the deletion-limit benchmark's state loads took 0.1-0.8 s a chunk (its resync 5.2 s, not 0.2).
    await db.exec(
      `create schema if not exists ${schema}; set search_path to ${schema}, public; set plan_cache_mode to force_custom_plan;`,
    );
  } catch (error) {
    lock?.release();
    throw error;
  }
  return wrapPglite(db, schema, async () => {
    await db.close();
    lock?.release();
  });
}

function wrapPglite(db: PGlite, schema: string, close: () => Promise<void>): Database {
  const prepared = preparedQuery(db);
  // Statements without parameters go through PGlite's own query(), as on PostgreSQL they go unnamed
  // (migrations hold several commands); so does a text past the cap.
  const run = async (via: Pick<PGlite, 'query'>, text: string, params: readonly unknown[] | undefined, inTx: boolean) =>
    ((params && params.length > 0 ? await prepared(text, params, inTx) : undefined) ??
      (await via.query(text, params as unknown[])).rows) as never;
  return {
    engine: 'pglite',
    schema,
    query: (text, params) => run(db, text, params, false),
    // PGlite runs one statement at a time on its single connection; its transaction() holds that
    // connection for the callback, so other work waits (hence: never across a partner call).
    transaction: (fn) => db.transaction((tx) => fn({ query: (text, params) => run(tx, text, params, true) })),
    boss: { pglite: db },
    close,
  };
}

/** The gateway's schema with every migration applied, and pg-boss's schema installed beside it. */
const recipeVersion = 2;
function memoryRecipe(schema: string): TemplateRecipe {
  // The queue's schema is named by src/queue/boss.ts; if that name changes, the template merely
  // lacks it and pg-boss installs its schema at start as it would without a template.
  const queueSchema = `${schema}_queue`;
  const queuePlans = getConstructionPlans(queueSchema);
  return {
    key: [recipeVersion, schema, migrationsDigest(), createHash('sha256').update(queuePlans).digest('hex')].join('\n'),
    prepare: async (db) => {
      await db.exec(`create schema if not exists ${schema}; set search_path to ${schema}, public;`);
      await migrate(wrapPglite(db, schema, () => db.close()));
      await db.exec(queuePlans);
      // PGlite's one connection is to template1: the other two databases are half the dump's files,
      // and every file costs time when a dump is loaded.
      await db.exec(`drop database postgres`);
      await db.exec(`update pg_database set datistemplate = false where datname = 'template0'`);
      await db.exec(`drop database template0`);
    },
  };
}

/**
 * The query config for one statement: named, so each connection parses and plans it once rather than
 * at every call (planning a consent grant's statement took longer than running it: 0.24 ms against
 * 0.2). Statements without parameters go unnamed: they may hold several commands (migrations), which
 * a prepared statement cannot.
 */
function statementNamer(enabled: boolean): (text: string, params: readonly unknown[] | undefined) => pg.QueryConfig {
  const names = new Map<string, string>();
  return (text, params) => {
    const values = params as unknown[] | undefined;
    if (!enabled || !values || values.length === 0) return { text, values };
    let name = names.get(text);
    if (name === undefined && names.size < MAX_PREPARED) {
      name = `partner_gateway_${createHash('sha1').update(text).digest('hex')}`;
      names.set(text, name);
    }
    return name === undefined ? { text, values } : { name, text, values };
  };
}

async function openPostgres(url: string, schema: string, max: number, prepare: boolean): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max, options: `-c search_path=${schema},public` });
  // A pool error (server restart) must not crash the host: the next query reconnects or fails clearly.
  pool.on('error', () => undefined);
  const statement = statementNamer(prepare);
  await pool.query(`create schema if not exists ${schema}`).catch((error: unknown) => {
    void pool.end();
    throw new Error(`cannot open the PostgreSQL database: ${(error as Error).message}`);
  });
  return {
    engine: 'postgres',
    schema,
    query: async (text, params) => (await pool.query(statement(text, params))).rows,
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await fn({
          query: async (text, params) => (await client.query(statement(text, params))).rows,
        });
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    boss: { connectionString: url },
    close: () => pool.end(),
  };
}
