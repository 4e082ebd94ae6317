/** --host and --port of the commands that run the ops server. */
import { Option, type Command } from 'commander';
import { nonBlank, nonNegativeInt } from './args.ts';

export function serveOptions(command: Command, portDefault: number): Command {
  return command
    .addOption(
      new Option('--host <address>', 'address the ops server listens on').default('127.0.0.1').argParser(nonBlank),
    )
    .addOption(
      new Option('--port <n>', 'port of the ops server (0: any free port)')
        .default(portDefault)
        .argParser(nonNegativeInt)
        .env('PARTNER_GATEWAY_OPS_PORT'),
    );
}
