/**
 * `audit list|verify|checkpoint|export`: the transfer log (field names and digests, never a personal
 * value), its signed hash chain, and checkpoints of it kept outside the database.
 */
import { open, readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { VerifyResult } from '../../log/chain.ts';
import {
  CheckpointError,
  checkpointLine,
  parseCheckpoints,
  type Checkpoint,
  type LocatedCheckpoint,
} from '../../log/checkpoint.ts';
import { CSV_COLUMNS, csvRow } from '../../server/audit-csv.ts';
import { isoDate, nonBlank, positiveInt, subjectId } from '../args.ts';
import { CliError } from '../errors.ts';
import { action } from '../action.ts';
import { line, printJson, table, write } from '../output.ts';

const PAGE = 1_000;

export function auditCommand(program: Command): void {
  const group = program
    .command('audit')
    .description('the transfer log: every outbound call, its intent and outcome, in a signed hash chain');

  group
    .command('list')
    .description('list log rows, oldest first')
    .option('--subject <id>', 'only this subject', subjectId)
    .option('--partner <name>', 'only this partner', nonBlank)
    .option('--since <iso>', 'rows at or after this time', isoDate)
    .option('--after <seq>', 'rows after this sequence number (paging)', positiveInt)
    .option('--limit <n>', 'at most this many rows', positiveInt, 100)
    .action(
      action(
        async (ctx, flags: { subject?: string; partner?: string; since?: Date; after?: number; limit: number }) => {
          const gateway = await ctx.auditLog();
          const rows = await gateway.audit.list({
            ...(flags.subject ? { subjectId: flags.subject } : {}),
            ...(flags.partner ? { partner: flags.partner } : {}),
            ...(flags.since ? { since: flags.since } : {}),
            ...(flags.after ? { afterSeq: String(flags.after) } : {}),
            limit: flags.limit,
          });
          if (ctx.json) return printJson(rows);
          if (rows.length === 0) return line('no log rows');
          await line(
            table(
              [
                'seq',
                'at',
                'kind',
                'subject',
                'partner',
                'operation',
                'trigger',
                'operator',
                'outcome',
                'http',
                'fields',
              ],
              rows.map((r) => [
                r.seq,
                r.at,
                r.kind,
                r.subjectId,
                r.partner,
                r.operation,
                r.trigger,
                r.operator,
                r.outcome,
                r.httpStatus,
                r.fields.join(',') || null,
              ]),
            ),
          );
          if (rows.length === flags.limit)
            await line(`(first ${flags.limit} rows: --after ${rows[rows.length - 1]!.seq} for more)`);
        },
      ),
    );

  group
    .command('verify')
    .description(
      'seal, then recompute the hash chain and check every signature; exits non-zero, naming the rows, on any edit, deletion, reordering, forged row or purge',
    )
    .option(
      '--against <file>',
      'also hold the log to the checkpoints in this file (audit checkpoint): detects a wipe, a cut tail, a head moved back, a recomputed chain',
    )
    .action(
      action(async (ctx, flags: { against?: string }) => {
        const against = flags.against ? await readCheckpoints(flags.against) : undefined;
        // Whoever holds the store verifies, with its audit key: this process, or the ops server (--server).
        const log = await ctx.auditLog();
        const result = await log.audit.verify(against ? { against } : {});
        if (ctx.json) await printJson(result);
        else if (result.ok) await line(verifiedLine(result, flags.against));
        else {
          await line(
            table(
              ['chain position', 'seq', 'kind', 'problem'],
              result.problems.map((p) => [p.chainPos, p.seq, p.kind, p.problem]),
            ),
          );
          if (result.problemsOmitted > 0) await line(`(and ${result.problemsOmitted} more problems)`);
        }
        if (!result.ok) {
          const total = result.problems.length + result.problemsOmitted;
          const shown = result.problems
            .slice(0, 5)
            .map((p) => `${p.seq ? `seq ${p.seq}` : `chain position ${p.chainPos ?? '-'}`}: ${p.problem}`);
          const more = total > shown.length ? `; and ${total - shown.length} more` : '';
          throw new CliError(`audit verify failed: ${total} problem(s): ${shown.join('; ')}${more}`);
        }
      }),
    );

  group
    .command('checkpoint')
    .description(
      'seal, then export the signed chain head: one JSON line to stdout (for a log shipper), or appended to a file; keep it where the database cannot reach',
    )
    .option('--out <file>', 'append the checkpoint to this file (created if missing) instead of printing it')
    .action(
      action(async (ctx, flags: { out?: string }) => {
        const log = await ctx.auditLog();
        let checkpoint: Checkpoint;
        try {
          checkpoint = await log.audit.checkpoint();
        } catch (error) {
          if (error instanceof CheckpointError) throw new CliError(error.message);
          throw error;
        }
        if (!flags.out) return write(checkpointLine(checkpoint));
        await appendDurably(flags.out, checkpointLine(checkpoint));
        if (ctx.json) return printJson(checkpoint);
        await line(
          `checkpoint of chain position ${checkpoint.position} (chain ${checkpoint.chainId}${checkpoint.keyedFrom === null ? ', not signed yet' : ''}) appended to ${flags.out}`,
        );
      }),
    );

  group
    .command('export')
    .description('stream every log row to stdout')
    .addOption(new Option('--format <format>', 'jsonl or csv').choices(['jsonl', 'csv']).default('jsonl'))
    .option('--since <iso>', 'rows at or after this time', isoDate)
    .option('--subject <id>', 'only this subject', subjectId)
    .option('--partner <name>', 'only this partner', nonBlank)
    .action(
      action(async (ctx, flags: { format: 'jsonl' | 'csv'; since?: Date; subject?: string; partner?: string }) => {
        const gateway = await ctx.auditLog();
        if (flags.format === 'csv') await write(`${CSV_COLUMNS.join(',')}\n`);
        let after: string | undefined;
        for (;;) {
          const rows = await gateway.audit.list({
            ...(flags.since ? { since: flags.since } : {}),
            ...(flags.subject ? { subjectId: flags.subject } : {}),
            ...(flags.partner ? { partner: flags.partner } : {}),
            ...(after ? { afterSeq: after } : {}),
            limit: PAGE,
          });
          if (rows.length > 0)
            await write(rows.map(flags.format === 'csv' ? csvRow : (r) => `${JSON.stringify(r)}\n`).join(''));
          if (rows.length < PAGE) break;
          // The highest seq of the page (seq is a bigint, sent as text).
          after = rows.reduce((max, r) => (BigInt(r.seq) > BigInt(max) ? r.seq : max), rows[0]!.seq);
        }
      }),
    );
}

async function readCheckpoints(path: string): Promise<LocatedCheckpoint[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read the checkpoint file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return parseCheckpoints(text, path);
  } catch (error) {
    if (error instanceof CheckpointError) throw new CliError(error.message);
    throw error;
  }
}

/** Appends and syncs: a checkpoint that the next crash loses anchors nothing. */
async function appendDurably(path: string, text: string): Promise<void> {
  let file;
  try {
    file = await open(path, 'a');
  } catch (error) {
    throw new CliError(`cannot write the checkpoint file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    await file.appendFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
}

function verifiedLine(result: VerifyResult, against: string | undefined): string {
  const signed =
    result.signedFrom === null
      ? 'not signed yet (the gateway signs it at its next seal with the audit key)'
      : `signed with the audit key from chain position ${result.signedFrom}`;
  const checkpoints = result.checkpoints
    ? `; consistent with ${result.checkpoints.checked} checkpoint(s) in ${against}${result.checkpoints.furthest ? ` (furthest: position ${result.checkpoints.furthest.position}, taken ${result.checkpoints.furthest.createdAt})` : ''}`
    : '';
  return `audit log verified: ${result.rowsChecked} row(s) checked, ${result.purgedRows} purged by retention, ${result.unsealed} not sealed yet; ${signed}${checkpoints}`;
}
