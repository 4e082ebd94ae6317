/**
 * Existing databases have a log sealed without any key. The first seal with the audit key takes the
 * chain over: what was written before is sealed as it is and covered by the keyed chain from then on.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sealAll, sealBatch, verifyChain } from '../../src/log/chain.ts';
import { purgeRows } from '../../src/log/purge.ts';
import type { Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import { testDatabase } from '../support/database.ts';
import { inRollback, keyring, recomputeChain, seqsOf, writeTraffic } from './signed-log.ts';

let db: Database & { drop(): Promise<void> };

beforeEach(async () => {
  db = await testDatabase();
  await migrate(db);
  // The log of a gateway from before the audit key: untagged rows, an unkeyed chain, an unsigned purge.
  await writeTraffic(db, ['subj-1', 'subj-2'], undefined);
  await sealAll(db, undefined);
  await db.transaction((tx) => purgeRows(tx, ['subj-1'], new Date('2027-01-02T03:04:05.678Z'), undefined));
});
afterEach(async () => {
  await db.close();
  await db.drop();
});

const legacyRows = async () => (await db.query(`select 1 from transfer_log where chain_pos is not null`)).length;

describe('taking over a log from before the audit key', () => {
  it('an old log verifies as unsigned, with or without the key', async () => {
    expect(await verifyChain(db, undefined)).toMatchObject({ ok: true, signed: false, problems: [] });
    expect(await verifyChain(db, keyring)).toMatchObject({ ok: true, signed: false, signedFrom: null, problems: [] });
  });

  it('the first keyed seal signs it: old rows stay as they were sealed, new ones are keyed', async () => {
    const sealedBefore = await legacyRows();
    // An old-version worker's rows, not sealed yet when the upgrade's first seal runs, then new ones.
    await writeTraffic(db, ['subj-3'], undefined);
    await writeTraffic(db, ['subj-4'], keyring);
    const untagged = (await db.query(`select 1 from transfer_log where chain_pos is null and writer_mac is null`))
      .length;
    await sealAll(db, keyring);
    const result = await verifyChain(db, keyring);
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({
      ok: true,
      signed: true,
      signedFrom: String(sealedBefore + untagged + 1),
      unsealed: 0,
    });
    // The purge from before is signed now, so a purge forged from here on shows.
    expect(await db.query(`select 1 from transfer_log where purged_at is not null and purge_mac is null`)).toEqual([]);
  });

  it('an old row edited after the take-over, and the old part of the chain recomputed, breaks the first keyed link', async () => {
    await sealAll(db, keyring);
    await writeTraffic(db, ['subj-4'], keyring);
    await sealAll(db, keyring);
    const keyedFrom = BigInt((await verifyChain(db, keyring)).signedFrom!);
    const seq = (await seqsOf(db, 'subj-2'))[0]!;
    const result = await inRollback(db, async (tx) => {
      await tx.query(`update transfer_log set operation = 'erase' where seq = $1`, [seq]);
      await recomputeChain(tx, 1n, 'unkeyed', { toPos: keyedFrom - 1n });
      return verifyChain(tx, keyring);
    });
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'chain_broken', chainPos: String(keyedFrom) })]);
  });

  it('a row emptied by hand after the take-over is a forged purge, even in the old part', async () => {
    await sealAll(db, keyring);
    const seq = (await seqsOf(db, 'subj-2'))[2]!;
    const result = await inRollback(db, async (tx) => {
      await tx.query(
        `update transfer_log set purged_at = now(), subject_id = null, fields = '{}', categories = '{}' where seq = $1`,
        [seq],
      );
      return verifyChain(tx, keyring);
    });
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'purge_forged', seq })]);
  });

  it("retention seals without taking over: that step is the gateway sealer's", async () => {
    await writeTraffic(db, ['subj-3'], keyring);
    await sealAll(db, keyring, { adopt: false });
    expect(await verifyChain(db, keyring)).toMatchObject({ ok: true, signed: false, unsealed: 0 });
  });

  it('a sealer without the key leaves a signed chain alone, and verify without the key says it needs it', async () => {
    await sealAll(db, keyring);
    await writeTraffic(db, ['subj-3'], keyring);
    expect(await sealBatch(db, undefined)).toBe(0);
    const keyless = await verifyChain(db, undefined);
    expect(keyless.ok).toBe(false);
    expect(keyless.problems.map((p) => p.kind)).toEqual(['needs_key']);
    expect(keyless.unsealed).toBeGreaterThan(0);
    await sealAll(db, keyring);
    expect(await verifyChain(db, keyring)).toMatchObject({ ok: true, unsealed: 0 });
  });
});
