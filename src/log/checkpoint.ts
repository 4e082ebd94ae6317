import { z } from 'zod';
import { canonicalJson } from '../canonical-json.ts';
import type { Sql } from '../store/database.ts';
import { tagKeyId, type AuditKeyring } from './audit-keys.ts';
import { ensureHead, headSignatureData, readHead, type Head } from './head.ts';
import type { Problems } from './problems.ts';

/**
 * A checkpoint is the chain head copied out of the database (to a file, or a log shipper reading
 * stdout) and signed with the audit key. The database can be rewritten by someone with write access;
 * a copy they cannot reach cannot. `audit verify --against` holds the log to every checkpoint in a
 * file: the chain must still be the same chain, reach at least as far, and hold at each checkpoint's
 * position the very link it recorded, so a wipe, a cut tail, a head moved back, or rows deleted,
 * edited or reordered before that position show even where the chain was recomputed.
 *
 * The format is one JSON object per line, so a file of checkpoints taken over time is their
 * concatenation and a shipper can forward each line as one record.
 */
export const CHECKPOINT_TYPE = 'partner-gateway.audit-checkpoint' as const;

export const checkpointSchema = z.strictObject({
  type: z.literal(CHECKPOINT_TYPE),
  version: z.literal(1),
  chainId: z.string().regex(/^[0-9a-f-]{36}$/, 'must be a chain id (a uuid)'),
  position: z.string().regex(/^\d{1,19}$/, 'must be a chain position (digits)'),
  hash: z.string().regex(/^[0-9a-f]{64}$|^[0-9a-f]{16}:[0-9a-f]{32}$/, 'must be a chain link'),
  keyedFrom: z
    .string()
    .regex(/^\d{1,19}$/, 'must be a chain position (digits)')
    .nullable(),
  headSealedAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  signature: z.string().regex(/^[0-9a-f]{16}:[0-9a-f]{32}$/, 'must be a signature (key id:hex)'),
});

export type Checkpoint = z.infer<typeof checkpointSchema>;

/** A checkpoint with where it came from, for messages. */
export interface LocatedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** e.g. `checkpoints.jsonl line 3` */
  readonly where: string;
}

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

function signatureData(checkpoint: Omit<Checkpoint, 'signature'>): string {
  const { type, version, chainId, position, hash, keyedFrom, headSealedAt, createdAt } = checkpoint;
  return canonicalJson({ type, version, chainId, position, hash, keyedFrom, headSealedAt, createdAt });
}

/**
 * The current head as a signed checkpoint. Refuses a head that does not check (a wrong signature, or
 * a last row that is not the one it names): a checkpoint must never vouch for a tampered log.
 */
export async function createCheckpoint(sql: Sql, keyring: AuditKeyring, now = new Date()): Promise<Checkpoint> {
  await ensureHead(sql);
  const head = (await readHead(sql))!;
  if (head.signature !== null || head.keyedFrom !== null) {
    const check = keyring.check('head', headSignatureData(head), head.signature);
    if (check !== 'ok')
      throw new CheckpointError(
        `no checkpoint taken: the chain head does not verify (${check === 'unknown_key' ? `signed with audit key ${tagKeyId(head.signature)}, which this process does not have` : 'its signature does not match'}); run audit verify`,
      );
  }
  if (head.position !== '0') {
    const [last] = await sql.query<{ chain_hash: string }>(
      `select chain_hash from transfer_log where chain_pos = $1::bigint`,
      [head.position],
    );
    if (last?.chain_hash !== head.hash)
      throw new CheckpointError(
        `no checkpoint taken: the chain head names position ${head.position}, which does not hold the row it recorded; run audit verify`,
      );
  }
  const unsigned = {
    type: CHECKPOINT_TYPE,
    version: 1 as const,
    chainId: head.chainId,
    position: head.position,
    hash: head.hash,
    keyedFrom: head.keyedFrom,
    headSealedAt: head.sealedAtMs === null ? null : new Date(Number(head.sealedAtMs)).toISOString(),
    createdAt: now.toISOString(),
  };
  return { ...unsigned, signature: keyring.sign('checkpoint', signatureData(unsigned)) };
}

/** Every checkpoint in a file's text (JSON lines; blank lines skipped). Errors name the line and member. */
export function parseCheckpoints(text: string, source: string): LocatedCheckpoint[] {
  const out: LocatedCheckpoint[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${source} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CheckpointError(`${where} is not JSON (one checkpoint object per line expected)`);
    }
    const parsed = checkpointSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const member = issue.path.length > 0 ? issue.path.join('.') : 'the line';
      throw new CheckpointError(`${where} is not an audit checkpoint: ${member}: ${issue.message}`);
    }
    out.push({ checkpoint: parsed.data, where });
  });
  if (out.length === 0) throw new CheckpointError(`${source} holds no checkpoint`);
  return out;
}

export function checkpointLine(checkpoint: Checkpoint): string {
  return `${JSON.stringify(checkpoint)}\n`;
}

/**
 * Holds the log (its head as read, and the links at the checkpoints' positions) to each checkpoint.
 * Returns the furthest checkpoint that passed its own signature check.
 */
export async function checkAgainst(
  sql: Sql,
  head: Head | undefined,
  sealedRows: number,
  checkpoints: readonly LocatedCheckpoint[],
  keyring: AuditKeyring | undefined,
  problems: Problems,
): Promise<Checkpoint | null> {
  const genuine: LocatedCheckpoint[] = [];
  for (const located of checkpoints) {
    const { checkpoint, where } = located;
    const check = keyring ? keyring.check('checkpoint', signatureData(checkpoint), checkpoint.signature) : null;
    if (check === null)
      problems.add('needs_key', `${where}: a checkpoint is signed with the audit key: verify needs it`);
    else if (check === 'unknown_key')
      problems.add(
        'key_unknown',
        `${where}: the checkpoint is signed with audit key ${tagKeyId(checkpoint.signature)}, which this process does not have`,
      );
    else if (check !== 'ok')
      problems.add(
        'checkpoint_invalid',
        `${where}: the checkpoint's signature does not match: the checkpoint file was edited`,
      );
    else genuine.push(located);
  }
  const links = await linksAt(
    sql,
    genuine.map((g) => g.checkpoint.position),
  );
  let furthest: Checkpoint | null = null;
  for (const { checkpoint, where } of genuine) {
    const recorded = `${where} (taken ${checkpoint.createdAt})`;
    const position = BigInt(checkpoint.position);
    if (!furthest || position > BigInt(furthest.position)) furthest = checkpoint;
    if (!head || head.chainId !== checkpoint.chainId) {
      if (position === 0n) continue;
      problems.add(
        'log_wiped',
        !head && sealedRows === 0
          ? `the log is empty, but ${recorded} recorded ${position} sealed rows: the log was wiped`
          : `this log's chain (id ${head?.chainId ?? 'none'}) is not the one ${recorded} was taken of (id ${checkpoint.chainId}): the log was wiped and started again, or this is another database`,
      );
      continue;
    }
    const headPos = BigInt(head.position);
    if (position > headPos) {
      problems.add(
        'tail_missing',
        `the log ends at chain position ${headPos}, but ${recorded} recorded position ${position}: rows ${headPos + 1n}..${position} were removed and the head moved back`,
      );
      continue;
    }
    if (position > 0n && links.get(checkpoint.position) !== checkpoint.hash)
      problems.add(
        'rewritten',
        `chain position ${position} no longer holds the row ${recorded} recorded: rows at or before it were edited, deleted or reordered and the chain recomputed`,
      );
    if (checkpoint.keyedFrom !== null && checkpoint.keyedFrom !== head.keyedFrom)
      problems.add(
        'head_forged',
        `${recorded} recorded the chain signed from position ${checkpoint.keyedFrom}, the head now says ${head.keyedFrom === null ? 'it is not signed' : `from ${head.keyedFrom}`}: the chain was rewritten`,
      );
  }
  return furthest;
}

async function linksAt(sql: Sql, positions: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const wanted = [...new Set(positions.filter((p) => p !== '0'))];
  for (let i = 0; i < wanted.length; i += 10_000) {
    const rows = await sql.query<{ chain_pos: string; chain_hash: string }>(
      `select chain_pos::text as chain_pos, chain_hash from transfer_log where chain_pos = any($1::bigint[])`,
      [wanted.slice(i, i + 10_000)],
    );
    for (const r of rows) out.set(r.chain_pos, r.chain_hash);
  }
  return out;
}
