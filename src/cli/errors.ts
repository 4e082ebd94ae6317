/**
 * CLI errors: one clear line on stderr and a non-zero exit, never a stack trace. Messages name what
 * is wrong (a file, an option, a subject id, a partner) and never echo a personal value.
 */

export const PROGRAM = 'partner-gateway';

/** An error whose message is already meant for the operator. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Exit codes (the README's table): 0 done, nothing left; 1 an error; 2 a usage error (bad option or
 * argument); 3 work left that the workers will still do (jobs queued, running or waiting for a retry
 * when the command stopped waiting or did not wait, an erasure still pending); 4 jobs that ran out of
 * retries (dead letters, an erasure a partner failed for good: an operator must look); 5 refused by a
 * safety rail, nothing done (an unknown subject's erasure unconfirmed, a resync over the deletion
 * threshold).
 */
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_WORK_LEFT = 3;
export const EXIT_DEAD_LETTERS = 4;
export const EXIT_REFUSED = 5;

export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}

/** Flattens any error into one line: multi-line messages (a policy's problem list) join with '; '. */
export function oneLine(error: unknown): string {
  const problems = (error as { problems?: unknown } | null)?.problems;
  const name = (error as { name?: unknown } | null)?.name;
  let message: string;
  if (name === 'PolicyError' && Array.isArray(problems) && problems.every((p) => typeof p === 'string')) {
    const head =
      String((error as Error).message)
        .split('\n')[0]
        ?.replace(/:\s*$/, '') ?? 'invalid policy';
    message = `${head}: ${(problems as string[]).join('; ')}`;
  } else if (error instanceof Error) {
    message = error.message || error.name;
  } else {
    message = String(error);
  }
  return message
    .split(/\r?\n/)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join('; ')
    .replace(/;\s*;/g, ';');
}

export function exitCodeOf(error: unknown): number {
  return error instanceof CliError ? error.exitCode : EXIT_ERROR;
}
