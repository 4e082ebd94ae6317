/** `manual-erasure`: an operator records erasing a subject by hand at a partner that has no adapter here. */
import type { Command } from 'commander';
import { nonBlank, subjectId } from '../args.ts';
import { action } from '../action.ts';
import { examples } from '../help.ts';
import { line, printJson } from '../output.ts';

export function manualErasureCommand(program: Command): void {
  const command = program
    .command('manual-erasure')
    .description(
      'record that you erased the subject by hand at a partner of the policy with no adapter configured here; until then the erasure is incomplete (logged with --operator)',
    )
    .argument('<subject>', 'the subject id', subjectId)
    .argument('<partner>', 'the partner (of the policy) you erased it at', nonBlank)
    .requiredOption('--reason <text>', 'how it was done (e.g. the partner ticket); kept, not logged', nonBlank);
  examples(command, [
    ['partner-gateway manual-erasure cust-42 twilio --reason "deleted in the Twilio console, ticket 1187"', ''],
  ]);
  command.action(
    action(async (ctx, subject: string, partner: string, flags: { reason: string }) => {
      // The partners wired are the enabled ones; only the others can be erased by hand. No credentials needed.
      const gateway = await ctx.gateway({ partners: 'offline' });
      const status = await gateway.recordManualErasure(subject, partner, {
        operator: ctx.operator,
        reason: flags.reason,
      });
      if (ctx.json) return printJson(status);
      const left = status.missing.map((m) => `${m.kind}${m.partner ? ` ${m.partner}` : ''}`);
      await line(
        `erasure of ${status.subjectId} at ${partner} recorded; erasure ${status.complete ? 'complete' : `incomplete: ${left.join(', ') || 'the workers are finishing it'}`}`,
      );
    }),
  );
}
