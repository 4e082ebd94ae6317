/**
 * How every command runs: the context built from the global options, and the gateway always closed
 * (workers finish their jobs, the store is closed) before the process exits. A module of its own so
 * that the commands do not import the program that imports them.
 */
import type { Command } from 'commander';
import { CliContext, defaultOperator, type GlobalOptions } from './context.ts';
import { PROGRAM } from './errors.ts';
import { setQuiet } from './output.ts';

export type Handler<A extends unknown[]> = (ctx: CliContext, ...args: A) => Promise<void>;

export interface ActionOptions {
  /** The command handles SIGINT/SIGTERM itself (worker, sandbox); otherwise a signal stops the gateway and exits. */
  readonly handlesSignals?: boolean;
}

/** Wraps a command's handler for commander's `.action()`. */
export function action<A extends unknown[]>(handler: Handler<A>, options: ActionOptions = {}) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const ctx = new CliContext(globalsOf(command));
    setQuiet(ctx.quiet);
    const stopOnSignal = (signal: NodeJS.Signals) => {
      process.stderr.write(`${PROGRAM}: ${signal}: stopping (in-flight jobs finish first)\n`);
      process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
      void ctx.close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    if (!options.handlesSignals) {
      process.once('SIGINT', stopOnSignal);
      process.once('SIGTERM', stopOnSignal);
    }
    try {
      await handler(ctx, ...(args.slice(0, -1) as A));
    } finally {
      await ctx.close();
    }
  };
}

function globalsOf(command: Command): GlobalOptions {
  const opts = command.optsWithGlobals<{
    config?: string;
    operator: string;
    sandbox?: string;
    dataDir?: string;
    json?: boolean;
    quiet?: boolean;
    logLevel?: string;
    server?: string;
  }>();
  const operator = opts.operator.trim();
  return {
    ...(opts.config ? { config: opts.config } : {}),
    operator: operator === '' ? defaultOperator() : operator,
    ...(opts.sandbox ? { sandbox: opts.sandbox } : {}),
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
    json: opts.json === true,
    quiet: opts.quiet === true,
    ...(opts.server ? { server: opts.server } : {}),
  };
}
