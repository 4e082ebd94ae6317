/** Examples at the end of a command's --help. */
import type { Command } from 'commander';

export function examples(command: Command, lines: readonly (readonly [string, string])[]): Command {
  const width = Math.max(...lines.map(([cmd]) => cmd.length));
  return command.addHelpText(
    'after',
    ['', 'Examples:', ...lines.map(([cmd, what]) => (what ? `  ${cmd.padEnd(width)}  # ${what}` : `  ${cmd}`))].join(
      '\n',
    ),
  );
}
