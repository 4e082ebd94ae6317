import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/keys.ts';
import { verifyChain } from '../../src/log/chain.ts';
import type { Sql } from '../../src/store/database.ts';
import { startHarness, testSecrets, type Harness } from '../support/harness.ts';
import { canaryRecord } from '../support/records.ts';

/** The harness gateway's audit key (the default, derived from its pseudonym key). */
const keyring = createKeys(testSecrets, {}).audit;
let h: Harness;
let seqs: string[];

beforeAll(async () => {
  h = await startHarness({ records: [1, 2, 3].map((n) => canaryRecord(n)) });
  for (const id of ['subj-1', 'subj-2', 'subj-3']) await h.gateway.changed(id);
  await h.gateway.runUntilIdle();
  await h.gateway.restrict('subj-2', 'disputed accuracy', { operator: 'ops-test' }).catch(() => undefined);
  // The restriction reaches the partners (jobs, and events for those with no mechanism): let it settle.
  await h.gateway.runUntilIdle();
  await h.gateway.audit.seal();
  seqs = (
    await h.gateway.database.query<{ seq: string }>(`select seq::text as seq from transfer_log order by seq`)
  ).map((r) => r.seq);
});
afterAll(() => h.close());

/** Runs a tampering statement, verifies, and rolls the tampering back. */
async function verifyAfter(tamper: (tx: Sql) => Promise<unknown>) {
  let result: Awaited<ReturnType<typeof verifyChain>> | undefined;
  await h.gateway.database
    .transaction(async (tx) => {
      await tamper(tx);
      result = await verifyChain(tx, keyring);
      throw new Error('rollback');
    })
    .catch((e: Error) => {
      if (e.message !== 'rollback') throw e;
    });
  return result!;
}

describe('audit.verify', () => {
  it('passes on an untouched log', async () => {
    expect(seqs.length).toBeGreaterThanOrEqual(10);
    const result = await h.gateway.audit.verify();
    expect(result).toMatchObject({ ok: true, unsealed: 0, problems: [] });
    expect(result.rowsChecked).toBe(seqs.length);
  });

  it('fails after any single row is edited', async () => {
    for (const seq of seqs) {
      const edited = await verifyAfter((tx) =>
        tx.query(`update transfer_log set operation = operation || 'x' where seq = $1`, [seq]),
      );
      expect(edited.ok, `edit of row ${seq}`).toBe(false);
      expect(edited.problems.some((p) => p.seq === seq && /edited/.test(p.problem))).toBe(true);
    }
  });

  it('fails after a subtle edit (a timestamp moved by a microsecond, a field added)', async () => {
    const seq = seqs[1]!;
    expect(
      (
        await verifyAfter((tx) =>
          tx.query(`update transfer_log set at = at + interval '1 microsecond' where seq = $1`, [seq]),
        )
      ).ok,
    ).toBe(false);
    expect(
      (await verifyAfter((tx) => tx.query(`update transfer_log set fields = fields || '{ssn}' where seq = $1`, [seq])))
        .ok,
    ).toBe(false);
  });

  it('fails after any single row is removed, the last one included', async () => {
    for (const seq of seqs) {
      const removed = await verifyAfter((tx) => tx.query(`delete from transfer_log where seq = $1`, [seq]));
      expect(removed.ok, `removal of row ${seq}`).toBe(false);
    }
  });

  it('fails after two rows swap places', async () => {
    const [a, b] = [seqs[2]!, seqs[3]!];
    const swapped = await verifyAfter(async (tx) => {
      const [pa] = await tx.query<{ p: string }>(`select chain_pos::text as p from transfer_log where seq = $1`, [a]);
      const [pb] = await tx.query<{ p: string }>(`select chain_pos::text as p from transfer_log where seq = $1`, [b]);
      await tx.query(`update transfer_log set chain_pos = -1 where seq = $1`, [a]);
      await tx.query(`update transfer_log set chain_pos = $2::bigint where seq = $1`, [b, pa!.p]);
      await tx.query(`update transfer_log set chain_pos = $2::bigint where seq = $1`, [a, pb!.p]);
    });
    expect(swapped.ok).toBe(false);
  });

  it('fails when a row is re-hashed to hide an edit', async () => {
    const seq = seqs[4]!;
    const rehashed = await verifyAfter(async (tx) => {
      await tx.query(
        `update transfer_log set outcome = 'ok', content_hash = md5(content_hash) || md5(content_hash) where seq = $1`,
        [seq],
      );
    });
    expect(rehashed.ok).toBe(false);
  });
});
