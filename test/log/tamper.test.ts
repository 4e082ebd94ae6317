/**
 * Someone with write access to the database, without the audit key, tries each way of rewriting the
 * transfer log (issue 11, item 15). verify must name what was done and where, on its own where the
 * database still holds the evidence, and against exported checkpoints where only they do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealAll, verifyChain, type VerifyResult } from '../../src/log/chain.ts';
import type { ProblemKind } from '../../src/log/problems.ts';
import type { Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import { testDatabase } from '../support/database.ts';
import {
  attackerKeyring,
  inRollback,
  keyring,
  moveHead,
  positionOf,
  recomputeChain,
  renumber,
  seqsOf,
  writeSignedLog,
  type SignedLog,
} from './signed-log.ts';

let db: Database & { drop(): Promise<void> };
let log: SignedLog;

beforeAll(async () => {
  db = await testDatabase();
  await migrate(db);
  log = await writeSignedLog(db);
});
afterAll(async () => {
  await db.close();
  await db.drop();
});

const verify = (sql: Database) => verifyChain(sql, keyring);
const verifyAgainst = (sql: Database) => verifyChain(sql, keyring, { against: log.checkpoints });
const kinds = (result: VerifyResult) => [...new Set(result.problems.map((p) => p.kind))].sort();
const problemOf = (result: VerifyResult, kind: ProblemKind) => result.problems.find((p) => p.kind === kind);

describe('a signed log, untouched', () => {
  it('verifies, on its own and against its checkpoints, purged rows included', async () => {
    const alone = await verify(db);
    expect(alone.problems).toEqual([]);
    expect(alone).toMatchObject({ ok: true, signed: true, signedFrom: '1', unsealed: 0, refused: 0 });
    expect(alone.rowsChecked).toBeGreaterThanOrEqual(6 * 9);
    expect(alone.purgedRows).toBe((await db.query(`select 1 from transfer_log where purged_at is not null`)).length);
    expect(alone.purgedRows).toBeGreaterThan(0);
    const against = await verifyAgainst(db);
    expect(against.problems).toEqual([]);
    expect(against.checkpoints).toEqual({
      checked: 2,
      furthest: { position: log.checkpoint.position, createdAt: log.checkpoint.createdAt },
    });
  });
});

describe('edit a row and recompute the chain', () => {
  for (const forge of ['unkeyed', 'guessed-key'] as const) {
    it(`is named (seq, kind) when the chain is recomputed ${forge === 'unkeyed' ? 'the old way' : 'with a guessed key'}`, async () => {
      const seq = (await seqsOf(db, 'subj-2'))[1]!;
      const [alone, against] = await inRollback(db, async (tx) => {
        await tx.query(`update transfer_log set outcome = 'ok', http_status = 200 where seq = $1`, [seq]);
        await recomputeChain(tx, BigInt(await positionOf(tx, seq)), forge);
        return [await verify(tx), await verifyAgainst(tx)];
      });
      expect(alone.ok).toBe(false);
      // The content hash was recomputed, so "edited" alone would not show; the writer's tag does.
      expect(problemOf(alone, 'row_forged')).toMatchObject({
        seq,
        problem: expect.stringMatching(/writer tag does not match/),
      });
      expect(problemOf(alone, 'chain_broken')?.chainPos).toMatch(new RegExp(`^${await positionOf(db, seq)}\\b`));
      expect(kinds(alone)).toContain('head_forged');
      expect(kinds(against)).toEqual(expect.arrayContaining(['rewritten', 'row_forged']));
      expect(problemOf(against, 'rewritten')?.problem).toMatch(/checkpoints.jsonl line 1.*recorded/);
    });
  }

  it('a plain edit (content hash left alone) is "row edited" at its seq', async () => {
    const seq = (await seqsOf(db, 'subj-4'))[0]!;
    const result = await inRollback(db, async (tx) => {
      await tx.query(`update transfer_log set fields = fields || '{ssn}' where seq = $1`, [seq]);
      return verify(tx);
    });
    expect(result.problems).toEqual([
      expect.objectContaining({ kind: 'row_edited', seq, problem: expect.stringMatching(/^row edited/) }),
    ]);
  });
});

describe("delete a subject's rows", () => {
  it('leaves a gap that is named by position', async () => {
    const seqs = await seqsOf(db, 'subj-5');
    const result = await inRollback(db, async (tx) => {
      await tx.query(`delete from transfer_log where subject_id = 'subj-5'`);
      return verify(tx);
    });
    expect(kinds(result)).toEqual(['chain_broken', 'rows_missing']);
    expect(problemOf(result, 'rows_missing')?.problem).toMatch(
      new RegExp(`chain position ${await positionOf(db, seqs[0]!)}\\.\\.\\d+ is gone`),
    );
  });

  for (const forge of ['unkeyed', 'guessed-key'] as const) {
    it(`shows when the chain is renumbered and recomputed ${forge === 'unkeyed' ? 'the old way' : 'with a guessed key'}`, async () => {
      const first = BigInt(await positionOf(db, (await seqsOf(db, 'subj-5'))[0]!));
      const [alone, against] = await inRollback(db, async (tx) => {
        await tx.query(`delete from transfer_log where subject_id = 'subj-5'`);
        await renumber(tx);
        await recomputeChain(tx, first, forge);
        return [await verify(tx), await verifyAgainst(tx)];
      });
      expect(alone.ok).toBe(false);
      expect(problemOf(alone, 'chain_broken')?.chainPos).toMatch(new RegExp(`^${first}\\.\\.\\d+$`));
      expect(kinds(alone)).not.toContain('rows_missing');
      // The latest checkpoint is beyond the shortened chain.
      expect(kinds(against)).toContain('tail_missing');
    });
  }
});

describe('cut the tail and move the head back', () => {
  const cutToEarly = async (tx: Database) => {
    const earlyPos = String(log.earlyHead.last_pos);
    await tx.query(`delete from transfer_log where chain_pos > $1::bigint`, [earlyPos]);
  };

  it('with a head the attacker signed: the signature does not match', async () => {
    const [alone, against] = await inRollback(db, async (tx) => {
      await cutToEarly(tx);
      await moveHead(tx, BigInt(String(log.earlyHead.last_pos)), String(log.earlyHead.last_hash), 'guessed-key');
      return [await verify(tx), await verifyAgainst(tx)];
    });
    expect(kinds(alone)).toEqual(['head_forged']);
    expect(alone.problems[0]!.problem).toMatch(/signature does not match/);
    expect(problemOf(against, 'tail_missing')?.problem).toMatch(
      new RegExp(`ends at chain position ${String(log.earlyHead.last_pos)}, but checkpoints.jsonl line 2`),
    );
  });

  it('with a genuine earlier head copied back: only a checkpoint tells', async () => {
    const [alone, against] = await inRollback(db, async (tx) => {
      await cutToEarly(tx);
      const h = log.earlyHead;
      await tx.query(`update log_chain set last_pos = $1, last_hash = $2, sealed_at = $3, signature = $4`, [
        h.last_pos,
        h.last_hash,
        h.sealed_at,
        h.signature,
      ]);
      return [await verify(tx), await verifyAgainst(tx)];
    });
    // What the database holds is a genuine earlier state: nothing in it can tell (README says so).
    expect(alone.problems).toEqual([]);
    expect(against.ok).toBe(false);
    expect(kinds(against)).toEqual(['tail_missing']);
  });
});

describe('forge a retention purge', () => {
  const emptyRow = `update transfer_log set purged_at = now(), subject_id = null, partner_id = null, operator = null, fields = '{}',
    categories = '{}', payload_digest = null, correlation_id = 'purged', policy_digest = 'purged' where seq = $1`;

  it('an emptied row without a purge signature is a forged purge', async () => {
    const seq = (await seqsOf(db, 'subj-3'))[0]!;
    const [alone, against] = await inRollback(db, async (tx) => {
      await tx.query(emptyRow, [seq]);
      return [await verify(tx), await verifyAgainst(tx)];
    });
    expect(alone.problems).toEqual([
      expect.objectContaining({ kind: 'purge_forged', seq, problem: expect.stringMatching(/no purge signature/) }),
    ]);
    expect(kinds(against)).toEqual(['purge_forged']);
  });

  it("nor does a genuine purge's signature copied onto another row pass", async () => {
    const seq = (await seqsOf(db, 'subj-3'))[1]!;
    const result = await inRollback(db, async (tx) => {
      await tx.query(emptyRow, [seq]);
      await tx.query(
        `update transfer_log set purge_mac = (select purge_mac from transfer_log where purge_mac is not null limit 1),
           purged_at = (select purged_at from transfer_log where purge_mac is not null limit 1) where seq = $1`,
        [seq],
      );
      return verify(tx);
    });
    expect(result.problems).toEqual([
      expect.objectContaining({ kind: 'purge_forged', seq, problem: expect.stringMatching(/does not match/) }),
    ]);
  });

  it('a retention_purge event inserted by hand is not taken for one', async () => {
    const result = await inRollback(db, async (tx) => {
      await tx.query(
        `insert into transfer_log (kind, operation, trigger, correlation_id, policy_digest) values ('event', 'retention_purge', 'retention', 'x', 'purged')`,
      );
      await sealAll(tx, keyring);
      return verify(tx);
    });
    expect(kinds(result)).toEqual(['row_forged']);
    expect(result.problems[0]!.problem).toMatch(/no writer tag.*kept out of the chain/);
  });
});

describe('wipe everything', () => {
  it('an empty log while the links record transfers is a wipe', async () => {
    const [alone, against] = await inRollback(db, async (tx) => {
      await tx.query(`delete from transfer_log`);
      await tx.query(`delete from log_chain`);
      return [await verify(tx), await verifyAgainst(tx)];
    });
    expect(kinds(alone)).toEqual(['log_wiped']);
    expect(kinds(against)).toEqual(['log_wiped']);
    expect(against.problems.filter((p) => /checkpoints.jsonl line \d.*the log was wiped/.test(p.problem))).toHaveLength(
      2,
    );
  });

  it('the links wiped too: only a checkpoint tells, and says the log was wiped', async () => {
    const [alone, against] = await inRollback(db, async (tx) => {
      await tx.query(`delete from transfer_log`);
      await tx.query(`delete from log_chain`);
      await tx.query(`delete from links`);
      return [await verify(tx), await verifyAgainst(tx)];
    });
    expect(alone.ok).toBe(true);
    expect(against.problems.map((p) => p.problem)).toEqual([
      expect.stringMatching(
        /^the log is empty, but checkpoints.jsonl line 1 .* recorded \d+ sealed rows: the log was wiped$/,
      ),
      expect.stringMatching(/^the log is empty, but checkpoints.jsonl line 2 /),
    ]);
  });

  it('wiped and started again: the chain is not the one the checkpoints were taken of', async () => {
    const against = await inRollback(db, async (tx) => {
      await tx.query(`delete from transfer_log`);
      await tx.query(`delete from log_chain`);
      await sealAll(tx, keyring);
      return verifyAgainst(tx);
    });
    expect(against.problems.map((p) => [p.kind, p.problem])).toEqual([
      ['log_wiped', expect.stringMatching(/links record data sent to partners/)],
      [
        'log_wiped',
        expect.stringMatching(/this log's chain \(id [0-9a-f-]{36}\) is not the one checkpoints.jsonl line 1/),
      ],
      ['log_wiped', expect.stringMatching(/is not the one checkpoints.jsonl line 2/)],
    ]);
  });
});

describe('insert a row by hand', () => {
  // A copy of a genuine intent under a new seq: what a forger would write to invent a transfer.
  const insertCopy = (tag: 'none' | 'copied' | 'guessed') => async (tx: Database) => {
    const [row] = await tx.query<{ seq: string }>(
      `insert into transfer_log (kind, subject_id, partner, operation, purpose, legal_basis, trigger, correlation_id, fields, categories,
         payload_digest, partner_id, attempt, policy_digest, writer_mac)
       select kind, subject_id, partner, operation, purpose, legal_basis, trigger, correlation_id, fields, categories, payload_digest,
         partner_id, attempt, policy_digest, writer_mac from transfer_log where subject_id = 'subj-6' and kind = 'intent' order by seq limit 1
       returning seq::text as seq`,
    );
    const forged =
      tag === 'none' ? null : tag === 'guessed' ? attackerKeyring().sign('row', '0'.repeat(64)) : undefined;
    if (forged !== undefined)
      await tx.query(`update transfer_log set writer_mac = $2 where seq = $1`, [row!.seq, forged]);
    return row!.seq;
  };

  for (const tag of ['none', 'copied', 'guessed'] as const) {
    it(`with ${tag === 'none' ? 'no tag' : tag === 'copied' ? "a genuine row's tag" : 'a guessed tag'}: named before sealing, and refused by the sealer`, async () => {
      const [seq, before, after, chainPos] = await inRollback(db, async (tx) => {
        const seq = await insertCopy(tag)(tx);
        const before = await verify(tx);
        await sealAll(tx, keyring);
        const after = await verify(tx);
        const [row] = await tx.query<{ chain_pos: string | null }>(
          `select chain_pos from transfer_log where seq = $1`,
          [seq],
        );
        return [seq, before, after, row!.chain_pos] as const;
      });
      expect(before.problems).toEqual([
        expect.objectContaining({ kind: 'row_forged', seq, problem: expect.stringMatching(/not sealed yet/) }),
      ]);
      expect(chainPos).toBeNull();
      expect(after.problems).toEqual([
        expect.objectContaining({ kind: 'row_forged', seq, problem: expect.stringMatching(/kept out of the chain/) }),
      ]);
      expect(after.refused).toBe(1);
    });
  }

  it('rows written after a refused one are sealed as usual', async () => {
    const result = await inRollback(db, async (tx) => {
      await insertCopy('none')(tx);
      await sealAll(tx, keyring);
      await writeSignedLogTail(tx);
      await sealAll(tx, keyring);
      return verify(tx);
    });
    expect(kinds(result)).toEqual(['row_forged']);
    expect(result.unsealed).toBe(0);
  });
});

async function writeSignedLogTail(tx: Database): Promise<void> {
  const { writeEvent } = await import('../../src/log/transfer-log.ts');
  await writeEvent(tx, { operation: 'resync', trigger: 'resync', correlationId: 'later', policyDigest: 'p' }, keyring);
}

describe('reorder rows', () => {
  it('two rows swapping places break the chain at both', async () => {
    const [a, b] = (await seqsOf(db, 'subj-4')).slice(0, 2);
    const [pa, pb] = [await positionOf(db, a!), await positionOf(db, b!)];
    const result = await inRollback(db, async (tx) => {
      await tx.query(`update transfer_log set chain_pos = -1 where seq = $1`, [a]);
      await tx.query(`update transfer_log set chain_pos = $2::bigint where seq = $1`, [b, pa]);
      await tx.query(`update transfer_log set chain_pos = $2::bigint where seq = $1`, [a, pb]);
      return verify(tx);
    });
    expect(kinds(result)).toEqual(['chain_broken']);
    expect(problemOf(result, 'chain_broken')?.seq).toBe(b);
  });
});

describe('rewrite the whole log to look unsigned', () => {
  it('verifies as unsigned on its own (verify says so), and a checkpoint shows it', async () => {
    const [alone, against] = await inRollback(db, async (tx) => {
      await tx.query(`update transfer_log set writer_mac = null, purge_mac = null`);
      await tx.query(`update log_chain set keyed_from = null, signature = null`);
      await recomputeChain(tx, 1n, 'unkeyed');
      return [await verify(tx), await verifyAgainst(tx)];
    });
    expect(alone.problems).toEqual([]);
    expect(alone).toMatchObject({ ok: true, signed: false, signedFrom: null });
    expect(kinds(against)).toEqual(['head_forged', 'rewritten']);
    expect(problemOf(against, 'head_forged')?.problem).toMatch(
      /signed from position 1, the head now says it is not signed/,
    );
  });
});

describe('a checkpoint file edited to match', () => {
  it('has a signature that no longer matches', async () => {
    const edited = { ...log.checkpoint, position: String(BigInt(log.checkpoint.position) - 5n) };
    const result = await verifyChain(db, keyring, { against: [{ checkpoint: edited, where: 'cp line 1' }] });
    expect(result.problems).toEqual([
      expect.objectContaining({
        kind: 'checkpoint_invalid',
        problem: expect.stringMatching(/^cp line 1: .*was edited/),
      }),
    ]);
  });
});
