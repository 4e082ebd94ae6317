/** `dead-letters list|retry`: jobs that ran out of retries, and putting them back on their queue. */
import type { Command } from 'commander';
import { checkPartners, collect, nonBlank } from '../args.ts';
import { CliError } from '../errors.ts';
import { action } from '../action.ts';
import { line, printJson, table } from '../output.ts';

export function deadLettersCommand(program: Command): void {
  const group = program.command('dead-letters').description('jobs that ran out of retries');

  group
    .command('list')
    .description('list dead letters (subject ids and the last error, never a personal value)')
    .option('--partner <name>', 'only this partner')
    .action(
      action(async (ctx, flags: { partner?: string }) => {
        const gateway = await ctx.gateway({ partners: true });
        await checkPartners(gateway, flags.partner ? [flags.partner] : undefined);
        const letters = await gateway.deadLetters(flags.partner);
        if (ctx.json) return printJson(letters);
        if (letters.length === 0) return line(`no dead letters${flags.partner ? ` at ${flags.partner}` : ''}`);
        await line(
          table(
            ['id', 'partner', 'subject', 'trigger', 'created', 'last error'],
            letters.map((d) => [d.id, d.partner, d.subjectId, d.trigger, d.createdOn, d.error]),
          ),
        );
      }),
    );

  group
    .command('retry')
    .description("put a partner's dead letters (all, or the ids given) back on its queue, then work them off")
    .requiredOption('--partner <name>', 'the partner whose dead letters to retry', nonBlank)
    .option('--id <id...>', 'only these dead letters (repeatable)', collect(nonBlank))
    .option('--no-wait', 'requeue only; leave the work to a running worker')
    .action(
      action(async (ctx, flags: { partner: string; id?: string[]; wait: boolean }) => {
        const gateway = await ctx.gateway({ partners: true });
        await checkPartners(gateway, [flags.partner]);
        if (flags.id) {
          const known = new Set((await gateway.deadLetters(flags.partner)).map((d) => d.id));
          const missing = flags.id.filter((id) => !known.has(id));
          if (missing.length > 0)
            throw new CliError(
              `no dead letter ${missing.join(', ')} at ${flags.partner} (see: dead-letters list --partner ${flags.partner})`,
            );
        }
        const requeued = await gateway.redrive(flags.partner, flags.id, { operator: ctx.operator });
        if (flags.wait && requeued > 0) await gateway.runUntilIdle();
        const left = (await gateway.deadLetters(flags.partner)).length;
        if (ctx.json) return printJson({ partner: flags.partner, requeued, deadLetters: left, waited: flags.wait });
        await line(
          `requeued ${requeued} dead letter(s) at ${flags.partner}${flags.wait ? `; ${left} dead letter(s) left` : ''}`,
        );
      }),
    );
}
