/** `audit list|verify|export`: the transfer log (field names and digests, never a personal value). */
import { Option, type Command } from 'commander';
import { CSV_COLUMNS, csvRow } from '../../server/audit-csv.ts';
import { isoDate, nonBlank, positiveInt, subjectId } from '../args.ts';
import { CliError } from '../errors.ts';
import { action } from '../action.ts';
import { line, printJson, table, write } from '../output.ts';

const PAGE = 1_000;

export function auditCommand(program: Command): void {
  const group = program
    .command('audit')
    .description('the transfer log: every outbound call, its intent and outcome, hash-chained');

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
    .description('recompute the hash chain; exits non-zero, naming the rows, on any edit, deletion or reordering')
    .action(
      action(async (ctx) => {
        const gateway = await ctx.auditLog();
        const result = await gateway.audit.verify();
        if (ctx.json) await printJson(result);
        else if (result.ok) {
          await line(
            `audit log verified: ${result.rowsChecked} row(s) checked, ${result.purgedRows} purged by retention, ${result.unsealed} not sealed yet`,
          );
        } else {
          await line(
            table(
              ['chain position', 'seq', 'problem'],
              result.problems.map((p) => [p.chainPos, p.seq, p.problem]),
            ),
          );
        }
        if (!result.ok) {
          const shown = result.problems
            .slice(0, 5)
            .map((p) => `${p.seq ? `seq ${p.seq}` : `chain position ${p.chainPos ?? '?'}`}: ${p.problem}`);
          const more =
            result.problems.length > shown.length ? `; and ${result.problems.length - shown.length} more` : '';
          throw new CliError(`audit verify failed: ${result.problems.length} problem(s): ${shown.join('; ')}${more}`);
        }
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
