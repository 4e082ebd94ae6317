/**
 * The ops CLI: builds the commander program, runs one command, and turns every failure into one line
 * on stderr and a non-zero exit (never a stack trace, never a personal value).
 */
import { Command, CommanderError, Option } from 'commander';
import { auditCommand } from './commands/audit.ts';
import { consentCommand } from './commands/consent.ts';
import { deadLettersCommand } from './commands/dead-letters.ts';
import { accessCommand, eraseCommand, restrictCommands } from './commands/subject.ts';
import { noticeCommand, policyCommand } from './commands/policy.ts';
import { resyncCommand } from './commands/resync.ts';
import { sandboxCommand } from './commands/sandbox.ts';
import { statusCommand } from './commands/status.ts';
import { workerCommand } from './commands/worker.ts';
import { defaultOperator } from './context.ts';
import { EXIT_USAGE, PROGRAM, exitCodeOf, oneLine } from './errors.ts';
import { flushStdout } from './output.ts';

export function buildProgram(): Command {
  const program = new Command(PROGRAM)
    .description(
      'Push to each partner only what the policy allows, propagate erasure, restriction and consent withdrawal, and prove every transfer.',
    )
    .addOption(
      new Option('--config <path>', 'the config module (default: ./partner-gateway.config.ts)').env(
        'PARTNER_GATEWAY_CONFIG',
      ),
    )
    .addOption(
      new Option('--operator <name>', 'who runs this: logged with every operator action').default(defaultOperator()),
    )
    .addOption(
      new Option('--sandbox <inspectUrl>', 'point every adapter at a running sandbox (its inspect url)').env(
        'PARTNER_GATEWAY_SANDBOX_URL',
      ),
    )
    .addOption(
      new Option(
        '--data-dir <dir>',
        'embedded store directory (default: PARTNER_GATEWAY_DATA_DIR or ./.partner-gateway)',
      ),
    )
    .addOption(
      new Option('--log-level <level>', 'gateway log level on stderr (the worker logs on stdout at info)').env(
        'PARTNER_GATEWAY_LOG_LEVEL',
      ),
    )
    .option('--json', 'machine-readable output', false)
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      [
        '',
        'Environment:',
        '  PARTNER_GATEWAY_PSEUDONYM_KEY   required: keys the per-partner pseudonyms (at least 16 characters)',
        '  PARTNER_GATEWAY_DIGEST_KEY      optional: keys payload digests (default: derived from the pseudonym key)',
        '  PARTNER_GATEWAY_DATABASE_URL    PostgreSQL instead of the embedded store (unless the config names a database)',
        '  PARTNER_GATEWAY_DATA_DIR        the embedded store directory (default ./.partner-gateway; --data-dir wins)',
        '  partner credentials             per partner (e.g. STRIPE_API_KEY); not needed with --sandbox',
        '',
        'Exit codes: 0 done, 1 error, 2 usage error.',
      ].join('\n'),
    );
  program.exitOverride();
  program.configureOutput({ outputError: commanderError });

  for (const register of [
    resyncCommand,
    workerCommand,
    statusCommand,
    deadLettersCommand,
    eraseCommand,
    consentCommand,
    restrictCommands,
    accessCommand,
    auditCommand,
    policyCommand,
    noticeCommand,
    sandboxCommand,
  ]) {
    register(program);
  }
  // Every subcommand exits through the same path as the program (no process.exit inside commander).
  const override = (command: Command) => {
    command.exitOverride();
    command.configureOutput({ outputError: commanderError });
    command.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

/** Commander's own errors (unknown option, missing argument) in the CLI's one-line shape. */
function commanderError(text: string, write: (text: string) => void): void {
  const message = text
    .trim()
    .split(/\s*\n\s*/)
    .join(' ')
    .replace(/^error: /, '');
  write(`${PROGRAM}: ${message}\n`);
}

/** Runs the CLI and returns the exit code; every error becomes one line on stderr. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already wrote its one-line message (or the help text asked for).
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    process.stderr.write(`${PROGRAM}: ${oneLine(error)}\n`);
    return exitCodeOf(error);
  }
}

/** The process entry: runs, flushes stdout, exits with the code (open handles never keep it alive). */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const fail = (error: unknown) => {
    process.stderr.write(`${PROGRAM}: ${oneLine(error)}\n`);
    process.exit(exitCodeOf(error));
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  // A closed pipe (| head) ends the output quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) =>
    error.code === 'EPIPE' ? process.exit(0) : fail(error),
  );
  const code = await runCli(argv);
  await flushStdout();
  process.exit(code);
}
