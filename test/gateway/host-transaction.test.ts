/**
 * `changed(id, { tx })` inside the host's own PostgreSQL transaction, with the `pg` client wrapper
 * README gives: the job commits with the host's change or not at all.
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engine } from '../support/database.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { canaryRecord } from '../support/records.ts';

describe.runIf(engine === 'postgres')("changed() inside the host's transaction (pg client)", () => {
  let harness: Harness;
  let pool: pg.Pool;
  beforeEach(async () => {
    harness = await startHarness({ records: [canaryRecord(1), canaryRecord(2)] });
    pool = new pg.Pool({ connectionString: process.env.PARTNER_GATEWAY_TEST_DATABASE_URL, max: 2 });
    await pool.query(`create table if not exists ${harness.gateway.database.schema}.host_orders (subject text)`);
  });
  afterEach(async () => {
    await pool.end();
    await harness.close();
  });

  /** The host's unit of work: its own write, and the gateway's job, in one transaction. */
  async function hostTransaction(subjectId: string, outcome: 'commit' | 'rollback') {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query(`insert into ${harness.gateway.database.schema}.host_orders (subject) values ($1)`, [
        subjectId,
      ]);
      // README: a pg client as pg-boss's executeSql.
      const tx = { executeSql: (text: string, values?: unknown[]) => client.query(text, values) };
      await harness.gateway.changed(subjectId, { tx });
      await client.query(outcome);
    } finally {
      client.release();
    }
  }

  const upserts = (partner: string) =>
    harness.adapters.get(partner)!.calls.filter((c) => c.operation === 'upsert' || c.operation === 'upsert_batch');

  it('a committed change reaches the partners', async () => {
    await hostTransaction('subj-1', 'commit');
    await harness.gateway.runUntilIdle();
    expect(upserts('elogistik')).toHaveLength(1);
  });

  it('a rolled-back change enqueues nothing', async () => {
    await hostTransaction('subj-2', 'rollback');
    const queued = (await harness.gateway.status()).partners.reduce((n, p) => n + p.queued, 0);
    expect(queued).toBe(0);
    await harness.gateway.runUntilIdle();
    expect(upserts('elogistik')).toHaveLength(0);
  });
});
