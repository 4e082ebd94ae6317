import { randomBytes } from 'node:crypto';
import { openDatabase, type Database } from '../../src/store/database.ts';

/**
 * The engine under test: PGlite in memory by default; the PostgreSQL server given by
 * PARTNER_GATEWAY_TEST_DATABASE_URL in the postgres project, each test in a schema of its own.
 */
export const engine = process.env.PARTNER_GATEWAY_TEST_ENGINE === 'postgres' ? 'postgres' : 'pglite';

export async function testDatabase(): Promise<Database & { drop(): Promise<void> }> {
  if (engine === 'postgres') {
    const url = process.env.PARTNER_GATEWAY_TEST_DATABASE_URL;
    if (!url) throw new Error('PARTNER_GATEWAY_TEST_DATABASE_URL is not set');
    const schema = `gw_test_${randomBytes(5).toString('hex')}`;
    const db = await openDatabase({ url, schema, poolSize: 5 });
    return Object.assign(db, {
      drop: async () => {
        const admin = await openDatabase({ url, schema: 'public', poolSize: 1 });
        await admin.query(`drop schema if exists ${schema} cascade`);
        await admin.query(`drop schema if exists ${schema}_queue cascade`);
        await admin.close();
      },
    });
  }
  const db = await openDatabase({ memory: true });
  return Object.assign(db, { drop: async () => undefined });
}
