import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export function listMigrations(): Migration[] {
  return readdirSync(migrationsDir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({
      version: Number(f.slice(0, 3)),
      name: f.slice(4, -4),
      sql: readFileSync(migrationsDir + f, 'utf8'),
    }));
}

/** What migrate() needs of a database: its schema and a transaction (a Database, or a template being made). */
export interface MigrationTarget {
  readonly schema: string;
  transaction<T>(
    fn: (tx: {
      query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
    }) => Promise<T>,
  ): Promise<T>;
}

/** A digest of every migration's name and text: a template made before a migration changed is not reused. */
export function migrationsDigest(): string {
  const hash = createHash('sha256');
  for (const m of listMigrations()) hash.update(`${m.version}\0${m.name}\0${m.sql}\0`);
  return hash.digest('hex');
}

/**
 * Applies the migrations not yet applied, in one transaction under an advisory lock, so processes
 * starting together on one PostgreSQL server do not race.
 */
export async function migrate(db: MigrationTarget): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(hashtext($1))`, [`partner-gateway:migrate:${db.schema}`]);
    await tx.query(
      `create table if not exists schema_migrations (version int primary key, name text not null, applied_at timestamptz not null default now())`,
    );
    const applied = new Set(
      (await tx.query<{ version: number }>(`select version from schema_migrations`)).map((r) => r.version),
    );
    const done: number[] = [];
    for (const m of listMigrations()) {
      if (applied.has(m.version)) continue;
      for (const statement of splitStatements(m.sql)) await tx.query(statement);
      await tx.query(`insert into schema_migrations (version, name) values ($1, $2)`, [m.version, m.name]);
      done.push(m.version);
    }
    return done;
  });
}

/** Our migration files hold plain DDL: split on semicolons that end a line, after removing comments. */
function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter(Boolean);
}
