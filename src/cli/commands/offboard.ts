/** `offboard`: erase everything a partner the policy no longer names holds, then work it off. */
import type { Command } from 'commander';
import type { OffboardingStatus } from '../../offboard.ts';
import { nonBlank, positiveInt } from '../args.ts';
import { action } from '../action.ts';
import { CliError, EXIT_DEAD_LETTERS, EXIT_WORK_LEFT } from '../errors.ts';
import { examples } from '../help.ts';
import { line, printJson } from '../output.ts';

interface OffboardFlags {
  dryRun?: boolean;
  wait: boolean;
  waitForRetries?: boolean;
  timeout: number;
}

export function offboardCommand(program: Command): void {
  const command = program
    .command('offboard')
    .argument(
      '<partner>',
      "a partner removed from the policy whose adapter is still in adapters/ or the config's modules",
      nonBlank,
    )
    .description(
      'erase at a partner the policy no longer names everything the gateway knows it holds (one logged erase per subject), then work it off; exit 0 once it holds nothing',
    )
    .option('--dry-run', 'show how many subjects it still holds; erase nothing')
    .option('--no-wait', 'enqueue only; leave the erasures to a running worker')
    .option('--wait-for-retries', 'also wait out erasures in retry backoff')
    .option('--timeout <seconds>', 'give up waiting after this long', positiveInt, 3_600);
  examples(command, [
    ['partner-gateway offboard intercom --dry-run', 'what Intercom still holds, after Intercom left the policy'],
    ['partner-gateway offboard intercom', 'erase it all there; exit 3 if erasures are still left'],
    ['partner-gateway status', 'offboarding progress, per former partner'],
  ]);
  command.action(
    action(async (ctx, partner: string, flags: OffboardFlags) => {
      // Offboarding reaches a partner the policy no longer lists: this process wires its adapter.
      const gateway = await ctx.gateway({ partners: true, former: partner });
      const started = await gateway.offboard(partner, { operator: ctx.operator, dryRun: flags.dryRun === true });
      let progress: OffboardingStatus = started;
      let timedOut = false;
      if (!started.dryRun && flags.wait && started.enqueued > 0) {
        try {
          await gateway.runUntilIdle({
            timeoutMs: flags.timeout * 1_000,
            waitForRetries: flags.waitForRetries === true,
          });
        } catch (error) {
          if (!(error instanceof Error && /not idle/.test(error.message))) throw error;
          timedOut = true;
        }
        progress = (await gateway.offboarding(partner))[0] ?? { ...started, holding: 0, done: true };
      }
      const deadLetters = (await gateway.deadLetters(partner)).length;
      if (ctx.json) printJson({ ...started, ...progress, deadLetters, timedOut });
      else {
        await line(
          `offboarding ${partner}: ${progress.holding} subject(s) still held there, ${progress.erased} erased` +
            (started.dryRun ? ' (dry run: nothing enqueued)' : `; ${started.enqueued} erasure(s) enqueued`),
        );
        if (progress.done) await line(`done: ${partner} holds nothing the gateway knows of`);
      }
      if (started.dryRun || progress.done) return;
      if (deadLetters > 0)
        throw new CliError(
          `offboard: ${deadLetters} erasure(s) at ${partner} ran out of retries (see dead-letters --partner ${partner})`,
          EXIT_DEAD_LETTERS,
        );
      throw new CliError(
        `offboard: ${progress.holding} subject(s) still held at ${partner}; ${flags.wait ? (timedOut ? 'not done before the timeout' : 'not done') : 'not waited for (--no-wait)'}: the workers go on`,
        EXIT_WORK_LEFT,
      );
    }),
  );
}
