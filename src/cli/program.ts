/**
 * The ops CLI: builds the commander program, runs one command, and turns every failure into one line
 * on stderr and a non-zero exit (never a stack trace, never a personal value).
 */
import { Command, CommanderError, Option } from 'commander';
import { auditCommand } from './commands/audit.ts';
import { consentCommand } from './commands/consent.ts';
import { deadLettersCommand } from './commands/dead-letters.ts';
import { manualErasureCommand } from './commands/manual-erasure.ts';
import { resolveErasureCommand } from './commands/resolve-erasure.ts';
import { driftCommand } from './commands/drift.ts';
import { accessCommand, eraseCommand, restrictCommands } from './commands/subject.ts';
import { noticeCommand, policyCommand } from './commands/policy.ts';
import { requestsCommand } from './commands/requests.ts';
import { offboardCommand } from './commands/offboard.ts';
import { resyncCommand } from './commands/resync.ts';
import { rotatePseudonymKeyCommand } from './commands/rotate-pseudonym-key.ts';
import { sandboxCommand } from './commands/sandbox.ts';
import { serveCommand } from './commands/serve.ts';
import { statusCommand } from './commands/status.ts';
import { workerCommand } from './commands/worker.ts';
import { defaultOperator } from './context.ts';
import { EXIT_USAGE, PROGRAM, exitCodeOf, oneLine } from './errors.ts';
import { flushStdout, jsonReplacer } from './output.ts';
import { packageVersion } from './version.ts';

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
    .addOption(
      new Option(
        '--server <url>',
        'talk to a running ops server (serve, worker --serve) instead of opening the store; token in PARTNER_GATEWAY_OPS_TOKEN',
      ).env('PARTNER_GATEWAY_SERVER_URL'),
    )
    .option('--json', 'machine-readable output (errors too: one JSON object on stderr)', false)
    .option('-q, --quiet', 'no progress and no informational lines; the exit code tells', false)
    .version(packageVersion(), '-V, --version', 'print the version')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      [
        '',
        'Environment:',
        '  PARTNER_GATEWAY_PSEUDONYM_KEY   keys the per-partner pseudonyms (at least 16 characters); required except',
        '                                  by status, dead-letters list and audit',
        '  PARTNER_GATEWAY_AUDIT_KEY       signs the transfer log; audit verify without the pseudonym key needs it',
        '  PARTNER_GATEWAY_DIGEST_KEY      optional: keys payload digests (default: derived from the pseudonym key)',
        '  PARTNER_GATEWAY_PREVIOUS_PSEUDONYM_KEYS  retired pseudonym keys, comma-separated (rotate-pseudonym-key)',
        '  PARTNER_GATEWAY_DATABASE_URL    PostgreSQL instead of the embedded store (unless the config names a database)',
        '  PARTNER_GATEWAY_DATA_DIR        the embedded store directory (default ./.partner-gateway; --data-dir wins)',
        '  PARTNER_GATEWAY_OPS_TOKENS      serve, worker --serve: name:role:token entries (role read or operator)',
        '  PARTNER_GATEWAY_OPS_TOKEN       with --server: the bearer token to send',
        '  partner credentials             per partner (e.g. STRIPE_API_KEY); not needed with --sandbox or --server,',
        '                                  nor by status, dead-letters list and audit',
        '',
        'Examples:',
        '  partner-gateway status                                        # queues, dead letters, erasures',
        '  partner-gateway resync --dry-run                              # what a resync would send, per partner',
        '  partner-gateway worker --serve --port 8080                    # work the queues, with the ops server',
        '  partner-gateway --server http://127.0.0.1:8080 dead-letters list   # while the worker holds the store',
        '  partner-gateway erase cust-42 --reason "erasure request (letter 2026-11-25)"',
        '',
        'Exit codes: 0 done, nothing left; 1 error; 2 usage error; 3 work left (queued, running or retrying when the',
        'command stopped waiting or did not wait, an erasure pending: the workers go on with it); 4 dead letters (jobs',
        'out of retries, an erasure failed for good: see dead-letters list); 5 refused by a safety rail, nothing done',
        '(an unknown subject erased without --yes, a resync over the deletion threshold).',
      ].join('\n'),
    );
  program.exitOverride();
  program.configureOutput({ outputError: commanderError });

  for (const register of [
    resyncCommand,
    offboardCommand,
    workerCommand,
    serveCommand,
    statusCommand,
    deadLettersCommand,
    driftCommand,
    rotatePseudonymKeyCommand,
    eraseCommand,
    manualErasureCommand,
    resolveErasureCommand,
    consentCommand,
    restrictCommands,
    accessCommand,
    requestsCommand,
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

/** --json anywhere before `--`: errors are JSON too, even those commander finds before parsing is done. */
let jsonErrors = false;

/** One error on stderr: a line for people, or `{"error":{"message","exitCode"}}` under --json. */
function errorText(message: string, exitCode: number): string {
  return jsonErrors
    ? `${JSON.stringify({ error: { message, exitCode } }, jsonReplacer)}\n`
    : `${PROGRAM}: ${message}\n`;
}

/** Commander's own errors (unknown option, missing argument) in the CLI's one-line shape. */
function commanderError(text: string, write: (text: string) => void): void {
  const message = text
    .trim()
    .split(/\s*\n\s*/)
    .join(' ')
    .replace(/^error: /, '');
  write(errorText(message, EXIT_USAGE));
}

/** Runs the CLI and returns the exit code; every error becomes one line on stderr. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const end = argv.indexOf('--');
  jsonErrors = (end === -1 ? argv : argv.slice(0, end)).includes('--json');
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already wrote its one-line message (or the help text asked for).
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    process.stderr.write(errorText(oneLine(error), exitCodeOf(error)));
    return exitCodeOf(error);
  }
}

/** The process entry: runs, flushes stdout, exits with the code (open handles never keep it alive). */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const fail = (error: unknown) => {
    process.stderr.write(errorText(oneLine(error), exitCodeOf(error)));
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
