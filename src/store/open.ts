import { openDatabase, type Database, type DatabaseOptions } from './database.ts';
import { migrate } from './migrate.ts';

/**
 * The store a gateway runs on, migrated: the host's own Database (left open on close), or one opened
 * from options (closed with the gateway).
 */
export async function openStore(
  options: DatabaseOptions | Database | undefined,
): Promise<{ database: Database; close: () => Promise<void> }> {
  const given = options !== undefined && 'query' in options ? options : undefined;
  const database = given ?? (await openDatabase(options as DatabaseOptions | undefined));
  await migrate(database);
  return { database, close: given ? async () => undefined : () => database.close() };
}
