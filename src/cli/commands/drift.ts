/** `drift`: what partners hold (asked live) against what the gateway believes; --repair re-creates what they lost. */
import type { Command } from 'commander';
import { collect, nonBlank, positiveInt, subjectId } from '../args.ts';
import { action } from '../action.ts';
import { CliError, EXIT_DEAD_LETTERS } from '../errors.ts';
import { examples } from '../help.ts';
import { info, line, printJson, table } from '../output.ts';

export function driftCommand(program: Command): void {
  const command = program
    .command('drift')
    .description(
      'ask partners what they hold for some subjects (or a random sample) and compare with what the gateway believes',
    )
    .option('--subject <id...>', 'these subjects (default: a random sample of what partners hold)', collect(subjectId))
    .option('--partner <name>', 'only this partner', nonBlank)
    .option('--sample <n>', 'how many (subject, partner) pairs to check without --subject', positiveInt, 100)
    .option('--repair', 're-create at the partner what it lost (forced reconciles), then wait for them')
    .option('--timeout <seconds>', 'give up waiting for the repairs after this long', positiveInt, 600);
  examples(command, [
    ['partner-gateway drift --sample 500', 'check 500 random pairs; exit 4 if any differs'],
    ['partner-gateway drift --subject cust-42 --repair', 'check one subject everywhere and repair'],
  ]);
  command.action(
    action(
      async (
        ctx,
        flags: { subject?: string[][]; partner?: string; sample: number; repair?: boolean; timeout: number },
      ) => {
        const ops = await ctx.ops({ partners: true });
        await ops.checkPartners(flags.partner ? [flags.partner] : undefined);
        const report = await ops.drift({
          ...(flags.subject ? { subjects: flags.subject.flat() } : {}),
          ...(flags.partner ? { partner: flags.partner } : {}),
          sample: flags.sample,
          repair: flags.repair === true,
          operator: ctx.operator,
        });
        if (flags.repair && report.findings.some((f) => f.repairEnqueued))
          await ops.workOff({ timeoutMs: flags.timeout * 1_000, waitForRetries: false });
        if (ctx.json) await printJson(report);
        else {
          await info(`drift: checked ${report.checked} (subject, partner) pair(s), ${report.findings.length} differ`);
          if (report.findings.length > 0)
            await line(
              table(
                ['subject', 'partner', 'gateway believes', 'partner holds', 'repair'],
                report.findings.map((f) => [
                  f.subjectId,
                  f.partner,
                  f.believed,
                  f.error ? `unknown (${f.error})` : f.actual,
                  f.repairEnqueued ? 'reconciled again' : '-',
                ]),
              ),
            );
        }
        const left = report.findings.filter((f) => !f.repairEnqueued).length;
        if (left > 0)
          throw new CliError(
            `drift: ${left} difference(s) left for an operator${flags.repair ? '' : ' (--repair re-creates what a partner lost)'}`,
            EXIT_DEAD_LETTERS,
          );
      },
    ),
  );
}
