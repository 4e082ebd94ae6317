/** `status`: queue depth, retries, in-flight and dead letters per partner; erasures pending and overdue. */
import type { Command } from 'commander';
import { action } from '../action.ts';
import { line, printJson, table } from '../output.ts';

export function statusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'queues per partner (queued, retrying, active, dead letters, failed calls in 24 h), erasures pending and overdue, unsealed log rows',
    )
    .action(
      action(async (ctx) => {
        const gateway = await ctx.gateway({ partners: true });
        const status = await gateway.status();
        if (ctx.json) return printJson(status);
        await line(
          table(
            ['partner', 'queued', 'retrying', 'active', 'dead letters', 'failed 24h'],
            status.partners.map((p) => [p.partner, p.queued, p.retrying, p.active, p.deadLetters, p.failedCalls24h]),
          ),
        );
        await line();
        await line(`erasures: ${status.erasures.pending} pending, ${status.erasures.overdue} overdue`);
        await line(`transfer log: ${status.log.unsealed} row(s) not sealed yet`);
      }),
    );
}
