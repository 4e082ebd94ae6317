/** Data-subject rights from the command line: erase, restrict/unrestrict, access. */
import { Option, type Command } from 'commander';
import type { Gateway } from '../../gateway.ts';
import type { ErasureStatus } from '../../lifecycle/types.ts';
import { nonBlank, positiveInt, subjectId } from '../args.ts';
import { action } from '../action.ts';
import { line, printJson, table, write } from '../output.ts';

const DEFAULT_TIMEOUT_S = 120;

/** Works the queued jobs to idle, so the command's effect is visible when it returns. */
export async function settle(gateway: Gateway, wait: boolean, timeoutSeconds: number): Promise<void> {
  if (wait) await gateway.runUntilIdle({ timeoutMs: timeoutSeconds * 1_000 });
}

function waitOptions(command: Command): Command {
  return command
    .option('--no-wait', 'enqueue only; leave the partner calls to a running worker')
    .option(
      '--timeout <seconds>',
      'give up waiting for the partner calls after this long',
      positiveInt,
      DEFAULT_TIMEOUT_S,
    );
}

export function eraseCommand(program: Command): void {
  waitOptions(
    program
      .command('erase')
      .description('erase the subject at every partner, now and for good (a tombstone stops any re-creation)')
      .argument('<subject>', 'the subject id', subjectId)
      .requiredOption('--reason <text>', 'why (e.g. the request ticket); logged', nonBlank),
  ).action(
    action(async (ctx, subject: string, flags: { reason: string; wait: boolean; timeout: number }) => {
      const gateway = await ctx.gateway({ partners: true });
      let status = await gateway.erase(subject, { reason: flags.reason, operator: ctx.operator });
      await settle(gateway, flags.wait, flags.timeout);
      if (flags.wait) status = await gateway.erasureStatus(subject);
      if (ctx.json) return printJson(status);
      await printErasure(status);
    }),
  );
}

async function printErasure(status: ErasureStatus): Promise<void> {
  const state = status.complete
    ? `complete${status.completedAt ? ` at ${status.completedAt.toISOString()}` : ''}`
    : 'in progress';
  await line(`erasure of ${status.subjectId}: ${state}`);
  if (status.partners.length > 0) {
    await line(
      table(
        ['partner', 'state', 'the partner keeps'],
        status.partners.map((p) => [p.partner, p.state, p.retainedAfterErasure.join('; ') || '-']),
      ),
    );
  }
}

export function restrictCommands(program: Command): void {
  waitOptions(
    program
      .command('restrict')
      .description('restrict processing ("blocking"): partners are sent nothing new for the subject until unrestricted')
      .argument('<subject>', 'the subject id', subjectId)
      .requiredOption('--reason <text>', 'why (e.g. accuracy contested, ticket 123); logged', nonBlank),
  ).action(
    action(async (ctx, subject: string, flags: { reason: string; wait: boolean; timeout: number }) => {
      const gateway = await ctx.gateway({ partners: true });
      await gateway.restrict(subject, flags.reason, { operator: ctx.operator });
      await settle(gateway, flags.wait, flags.timeout);
      if (ctx.json) return printJson({ subjectId: subject, restricted: true, reason: flags.reason });
      await line(`${subject} is restricted`);
    }),
  );

  waitOptions(
    program
      .command('unrestrict')
      .description('lift a restriction: partners are brought back in step')
      .argument('<subject>', 'the subject id', subjectId),
  ).action(
    action(async (ctx, subject: string, flags: { wait: boolean; timeout: number }) => {
      const gateway = await ctx.gateway({ partners: true });
      await gateway.unrestrict(subject, { operator: ctx.operator });
      await settle(gateway, flags.wait, flags.timeout);
      if (ctx.json) return printJson({ subjectId: subject, restricted: false });
      await line(`${subject} is no longer restricted`);
    }),
  );
}

export function accessCommand(program: Command): void {
  program
    .command('access')
    .description(
      'the access report for a subject: what each partner holds, what was sent when and why (personal data: for the subject only)',
    )
    .argument('<subject>', 'the subject id', subjectId)
    .addOption(new Option('--format <format>', 'report format').choices(['json', 'md', 'html']).default('json'))
    .addOption(new Option('--lang <lang>', 'language of md and html').choices(['sv', 'en']).default('sv'))
    .option('--live', 'also ask each partner what it holds now')
    .action(
      action(
        async (ctx, subject: string, flags: { format: 'json' | 'md' | 'html'; lang: 'sv' | 'en'; live?: boolean }) => {
          const gateway = await ctx.gateway({ partners: true });
          const report = await gateway.access(subject, { live: flags.live === true });
          const { renderAccessReport } = await import('../../lifecycle/index.ts');
          const text = renderAccessReport(report, gateway.policy, {
            format: ctx.json ? 'json' : flags.format,
            lang: flags.lang,
          });
          await write(text.endsWith('\n') ? text : `${text}\n`);
        },
      ),
    );
}
