/** `dead-letters list|retry`: jobs that ran out of retries, and putting them back on their queue. */
import type { Command } from 'commander';
import { collect, nonBlank, positiveInt } from '../args.ts';
import { action } from '../action.ts';
import { CliError, EXIT_DEAD_LETTERS, EXIT_WORK_LEFT } from '../errors.ts';
import { examples } from '../help.ts';
import { info, line, printJson, table } from '../output.ts';
import { workOffWithProgress } from '../work-off.ts';

export function deadLettersCommand(program: Command): void {
  const group = program.command('dead-letters').description('jobs that ran out of retries');

  const list = group
    .command('list')
    .description('list dead letters (subject ids and the last error, never a personal value)')
    .option('--partner <name>', 'only this partner');
  examples(list, [['partner-gateway dead-letters list --partner stripe', "Stripe's dead letters"]]);
  list.action(
    action(async (ctx, flags: { partner?: string }) => {
      const ops = await ctx.ops({ partners: 'offline', readOnly: true });
      await ops.checkPartners(flags.partner ? [flags.partner] : undefined);
      const letters = await ops.deadLetters(flags.partner);
      if (ctx.json) return printJson(letters);
      if (letters.length === 0) return info(`no dead letters${flags.partner ? ` at ${flags.partner}` : ''}`);
      await line(
        table(
          ['id', 'partner', 'subject', 'trigger', 'created', 'last error'],
          letters.map((d) => [d.id, d.partner, d.subjectId, d.trigger, d.createdOn, d.error]),
        ),
      );
    }),
  );

  const retry = group
    .command('retry')
    .description("put a partner's dead letters (all, or the ids given) back on its queue, then work them off")
    .requiredOption('--partner <name>', 'the partner whose dead letters to retry', nonBlank)
    .option('--id <id...>', 'only these dead letters (repeatable)', collect(nonBlank))
    .option('--no-wait', 'requeue only; leave the work to a running worker')
    .option('--timeout <seconds>', 'give up waiting for the partner calls after this long', positiveInt, 600);
  examples(retry, [
    ['partner-gateway dead-letters retry --partner stripe', "all of Stripe's; exit 4 if any dies again"],
    ['partner-gateway dead-letters retry --partner stripe --id 3f2c…', 'one of them'],
  ]);
  retry.action(
    action(async (ctx, flags: { partner: string; id?: string[]; wait: boolean; timeout: number }) => {
      const ops = await ctx.ops({ partners: true });
      await ops.checkPartners([flags.partner]);
      if (flags.id) {
        const known = new Set((await ops.deadLetters(flags.partner)).map((d) => d.id));
        const missing = flags.id.filter((id) => !known.has(id));
        if (missing.length > 0)
          throw new CliError(
            `no dead letter ${missing.join(', ')} at ${flags.partner} (see: dead-letters list --partner ${flags.partner})`,
          );
      }
      const before = await ops.status();
      const requeued = await ops.redrive(flags.partner, flags.id, ctx.operator);
      // The requeued jobs left the dead letters: the count to watch is the one after the redrive.
      const base = {
        ...before,
        partners: before.partners.map((p) =>
          p.partner === flags.partner ? { ...p, deadLetters: p.deadLetters - requeued } : p,
        ),
      };
      const result =
        flags.wait && requeued > 0
          ? await workOffWithProgress(ops, {
              totals: { [flags.partner]: requeued },
              before: base,
              tally: undefined,
              silent: ctx.json || ctx.quiet,
              label: 'retry',
              timeoutMs: flags.timeout * 1_000,
              waitForRetries: false,
            })
          : undefined;
      const left = (await ops.deadLetters(flags.partner)).length;
      const waiting = result ? result.left.queued + result.left.retrying : flags.wait ? 0 : requeued;
      if (ctx.json)
        await printJson({
          partner: flags.partner,
          requeued,
          deadLetters: left,
          waited: flags.wait,
          ...(result ? { after: result.perPartner[flags.partner], timedOut: result.timedOut } : {}),
          left: { queued: result?.left.queued ?? waiting, retrying: result?.left.retrying ?? 0, deadLetters: left },
        });
      else
        await info(
          `requeued ${requeued} dead letter(s) at ${flags.partner}${result ? `; ${result.sentence()}; ${left} dead letter(s) at ${flags.partner} now` : ''}`,
        );
      // Any dead letter left at the partner (died again, or not among the ids retried) needs an operator.
      if (left > 0)
        throw new CliError(
          `dead-letters retry: ${left} dead letter(s) left at ${flags.partner} (see: partner-gateway dead-letters list --partner ${flags.partner})`,
          EXIT_DEAD_LETTERS,
        );
      result?.exit('dead-letters retry');
      if (!result && waiting > 0)
        throw new CliError(
          `dead-letters retry: ${waiting} job(s) requeued, not waited for (--no-wait); the workers go on with them`,
          EXIT_WORK_LEFT,
        );
    }),
  );
}
