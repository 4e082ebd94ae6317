/**
 * `resolve-erasure`: an operator settles what the gateway cannot at a partner: an unknown outcome
 * (a lost answer at a partner that cannot be searched) or a record another live subject claims too.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { erasureResolutions, type ErasureResolution } from '../../lifecycle/index.ts';
import { nonBlank, subjectId } from '../args.ts';
import { action } from '../action.ts';
import { EXIT_DEAD_LETTERS, EXIT_WORK_LEFT } from '../errors.ts';
import { examples } from '../help.ts';
import { line, printJson } from '../output.ts';

function resolution(value: string): ErasureResolution {
  if ((erasureResolutions as readonly string[]).includes(value)) return value as ErasureResolution;
  throw new InvalidArgumentError(`must be one of ${erasureResolutions.join(', ')}`);
}

export function resolveErasureCommand(program: Command): void {
  const command = program
    .command('resolve-erasure')
    .description(
      "settle an erasure the gateway cannot finish at a partner (status 'unknown': a lost answer; 'conflict': a record another subject claims): say what you found there (logged with --operator)",
    )
    .argument('<subject>', 'the subject id', subjectId)
    .argument('<partner>', 'the partner you looked at', nonBlank)
    .requiredOption(
      '--resolution <what>',
      `none-found (nothing of the subject there), deleted-manually (you deleted it there), kept-for-other-subject (what is left is the other subject's)`,
      resolution,
    );
  examples(command, [
    ['partner-gateway resolve-erasure cust-42 auth0 --resolution deleted-manually --operator ops-kim', ''],
  ]);
  command.action(
    action(async (ctx, subject: string, partner: string, flags: { resolution: ErasureResolution }) => {
      const gateway = await ctx.gateway({ partners: 'offline' });
      const status = await gateway.resolveErasure(subject, partner, {
        resolution: flags.resolution,
        operator: ctx.operator,
      });
      if (ctx.json) return printJson(status);
      const left = status.missing.map((m) => `${m.kind}${m.partner ? ` ${m.partner}` : ''}`);
      await line(
        `${partner} resolved for ${status.subjectId} (${flags.resolution}); erasure ${status.complete ? 'complete' : `incomplete: ${left.join(', ') || 'the workers are finishing it'}`}`,
      );
      // Exit 0 only when nothing is left to do; 4 while an operator still has something to settle.
      const operatorLeft = status.partners.some((p) =>
        ['failed', 'no-adapter', 'unknown', 'conflict'].includes(p.state),
      );
      if (!status.complete) process.exitCode = operatorLeft ? EXIT_DEAD_LETTERS : EXIT_WORK_LEFT;
    }),
  );
}
