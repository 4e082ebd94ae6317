/** Data-subject rights from the command line: erase, restrict/unrestrict, access. */
import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import type { ErasureStatus } from '../../index.ts';
import { nonBlank, positiveInt, subjectId } from '../args.ts';
import { action } from '../action.ts';
import { CliError, EXIT_DEAD_LETTERS, EXIT_REFUSED, EXIT_WORK_LEFT } from '../errors.ts';
import { examples } from '../help.ts';
import type { OpsClient } from '../ops-client.ts';
import { QueuesNotIdle } from '../ops-client.ts';
import { info, line, printJson, table, write } from '../output.ts';

const DEFAULT_TIMEOUT_S = 120;

/**
 * Waits for the partner calls the command caused, so its effect is visible when it returns; a
 * timeout is exit 3 (the workers go on with them).
 */
export async function settle(ops: OpsClient, wait: boolean, timeoutSeconds: number, command: string): Promise<void> {
  if (!wait) return;
  try {
    await ops.workOff({ timeoutMs: timeoutSeconds * 1_000, waitForRetries: false });
  } catch (error) {
    if (!(error instanceof QueuesNotIdle)) throw error;
    throw new CliError(
      `${command}: the partner calls were not done after ${timeoutSeconds} s; the workers go on with them`,
      EXIT_WORK_LEFT,
    );
  }
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
  const command = waitOptions(
    program
      .command('erase')
      .description('erase the subject at every partner, now and for good (a tombstone stops any re-creation)')
      .argument('<subject>', 'the subject id', subjectId)
      .requiredOption('--reason <text>', 'why (e.g. the request ticket); logged', nonBlank)
      .option('--yes', 'erase even a subject id the record source does not know (or cannot be asked about)'),
  );
  examples(command, [
    [
      'partner-gateway erase cust-42 --reason "erasure request (letter 2026-11-25)"',
      'exit 0 once every partner confirmed',
    ],
    ['partner-gateway erase cust-42 --reason "ticket 1187" --no-wait', 'leave it to the running worker (exit 3)'],
    ['partner-gateway erase cust-x --reason "ticket 1188" --yes', 'an id the record source does not know'],
  ]);
  command.action(
    action(async (ctx, subject: string, flags: { reason: string; wait: boolean; timeout: number; yes?: boolean }) => {
      const ops = await ctx.ops({ partners: true });
      if (!flags.yes) await confirmUnknown(ops, subject);
      let status = await ops.erase(subject, flags.reason, ctx.operator);
      let timedOut = false;
      if (flags.wait) {
        try {
          await settle(ops, true, flags.timeout, 'erase');
        } catch (error) {
          if (!(error instanceof CliError) || error.exitCode !== EXIT_WORK_LEFT) throw error;
          timedOut = true;
        }
        status = await ops.erasureStatus(subject);
      }
      const failed = status.partners.filter((p) => p.state === 'failed').map((p) => p.partner);
      const pending = status.partners.filter((p) => p.state === 'pending').map((p) => p.partner);
      // What no worker will finish: an operator erases by hand, or looks and resolves.
      const operator = status.partners
        .filter((p) => p.state === 'no-adapter' || p.state === 'unknown' || p.state === 'conflict')
        .map((p) => `${p.partner} (${p.state})`);
      const hooks = status.missing.filter((m) => m.kind === 'hook').map((m) => m.hook ?? 'hook');
      if (ctx.json) await printJson({ ...status, left: { pending, failed, operator, hooks } });
      else if (!ctx.quiet) await printErasure(status);
      if (status.complete) return;
      if (failed.length > 0)
        throw new CliError(
          `erase: not complete: ${failed.join(', ')} failed for good (see: dead-letters list)`,
          EXIT_DEAD_LETTERS,
        );
      const waiting = [...pending, ...hooks.map((h) => `the ${h} hook`)];
      const why = !flags.wait ? ' (--no-wait)' : timedOut ? ` after ${flags.timeout} s` : '';
      // While the workers still have work, that is what is left; what waits for an operator is in --json.
      if (waiting.length > 0 || operator.length === 0)
        throw new CliError(
          `erase: not complete${why}: ${waiting.join(', ') || 'the last step'} pending; the workers go on with it`,
          EXIT_WORK_LEFT,
        );
      throw new CliError(
        `erase: not complete: ${operator.join(', ')} wait for an operator (manual-erasure, resolve-erasure)`,
        EXIT_DEAD_LETTERS,
      );
    }),
  );
}

/**
 * A tombstone is for good: an id the record source does not know (a typo, another system's id) is
 * erased only when the operator confirms, at the terminal or with --yes.
 */
async function confirmUnknown(ops: OpsClient, subject: string): Promise<void> {
  const known = await ops.sourceKnows(subject);
  if (known === true) return;
  const problem =
    known === false
      ? `the record source does not know subject ${subject}`
      : `whether the record source knows subject ${subject} cannot be checked${ops.remote ? ' through --server' : ''}`;
  if (!process.stdin.isTTY || !process.stderr.isTTY)
    throw new CliError(
      `erase: ${problem}; an erasure tombstones the id for good: check the id, or rerun with --yes`,
      EXIT_REFUSED,
    );
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${problem}; erasing tombstones the id for good. Type the id to erase it: `);
    if (answer.trim() !== subject) throw new CliError('erase: not confirmed; nothing done', EXIT_REFUSED);
  } finally {
    prompt.close();
  }
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
  const restrict = waitOptions(
    program
      .command('restrict')
      .description(
        'restrict processing ("blocking"): partners are sent nothing new until unrestricted, and each is told by its policy restriction behaviour (Mailchimp unsubscribes, Intercom archives, the others keep)',
      )
      .argument('<subject>', 'the subject id', subjectId)
      .requiredOption('--reason <text>', 'why (e.g. accuracy contested, ticket 123); logged', nonBlank),
  );
  examples(restrict, [['partner-gateway restrict cust-42 --reason "accuracy disputed (ticket 123)"', '']]);
  restrict.action(
    action(async (ctx, subject: string, flags: { reason: string; wait: boolean; timeout: number }) => {
      const ops = await ctx.ops({ partners: true });
      await ops.restrict(subject, flags.reason, ctx.operator);
      if (ctx.json) await printJson({ subjectId: subject, restricted: true, reason: flags.reason });
      else await info(`${subject} is restricted`);
      await settle(ops, flags.wait, flags.timeout, 'restrict');
    }),
  );

  const unrestrict = waitOptions(
    program
      .command('unrestrict')
      .description('lift a restriction: partners are brought back in step')
      .argument('<subject>', 'the subject id', subjectId),
  );
  examples(unrestrict, [['partner-gateway unrestrict cust-42', 'partners get what changed meanwhile']]);
  unrestrict.action(
    action(async (ctx, subject: string, flags: { wait: boolean; timeout: number }) => {
      const ops = await ctx.ops({ partners: true });
      await ops.unrestrict(subject, ctx.operator);
      if (ctx.json) await printJson({ subjectId: subject, restricted: false });
      else await info(`${subject} is no longer restricted`);
      await settle(ops, flags.wait, flags.timeout, 'unrestrict');
    }),
  );
}

export function accessCommand(program: Command): void {
  const command = program
    .command('access')
    .description(
      'the access report for a subject: what each partner holds, what was sent when and why (personal data: for the subject only)',
    )
    .argument('<subject>', 'the subject id', subjectId)
    .addOption(new Option('--format <format>', 'report format').choices(['json', 'md', 'html']).default('json'))
    .addOption(new Option('--lang <lang>', 'language of md and html').choices(['sv', 'en']).default('sv'))
    .option('--live', 'also ask each partner what it holds now');
  examples(command, [
    ['partner-gateway access cust-42 --format md --lang sv > utdrag.md', 'the report to send the subject'],
    ['partner-gateway access cust-42 --live', 'as JSON, with what each partner returns now'],
  ]);
  command.action(
    action(
      async (ctx, subject: string, flags: { format: 'json' | 'md' | 'html'; lang: 'sv' | 'en'; live?: boolean }) => {
        const ops = await ctx.ops({ partners: true });
        const text = await ops.accessText(subject, {
          format: ctx.json ? 'json' : flags.format,
          lang: flags.lang,
          live: flags.live === true,
        });
        await write(text.endsWith('\n') ? text : `${text}\n`);
      },
    ),
  );
}
