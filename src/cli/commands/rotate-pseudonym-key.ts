/**
 * `rotate-pseudonym-key`: moves the partners onto the pseudonyms of a new key (README, "Key
 * rotation"). Runs where the store is, with both keys: the new one in PARTNER_GATEWAY_PSEUDONYM_KEY,
 * the old one in PARTNER_GATEWAY_PREVIOUS_PSEUDONYM_KEYS. Rerun until it exits 0.
 */
import type { Command } from 'commander';
import type { RotationReport } from '../../index.ts';
import { positiveInt } from '../args.ts';
import { action } from '../action.ts';
import { CliError, EXIT_DEAD_LETTERS, EXIT_WORK_LEFT, usageError } from '../errors.ts';
import { examples } from '../help.ts';
import { info, line, printJson, table } from '../output.ts';

export function rotatePseudonymKeyCommand(program: Command): void {
  const command = program
    .command('rotate-pseudonym-key')
    .description(
      'move every partner onto the pseudonyms of a new key (the new key in PARTNER_GATEWAY_PSEUDONYM_KEY, the old in PARTNER_GATEWAY_PREVIOUS_PSEUDONYM_KEYS); the store takes the new key once nothing is left under the old. Stop the workers first; rerun after a failure or a crash until it exits 0',
    )
    .option('--dry-run', 'say what it would do at each partner; call nobody, change nothing')
    .option('--batch-size <n>', 'subjects per batch of partner calls', positiveInt, 100);
  examples(command, [
    [
      'PARTNER_GATEWAY_PSEUDONYM_KEY=$NEW PARTNER_GATEWAY_PREVIOUS_PSEUDONYM_KEYS=$OLD partner-gateway rotate-pseudonym-key --dry-run',
      'what each partner would get',
    ],
    [
      'PARTNER_GATEWAY_PSEUDONYM_KEY=$NEW PARTNER_GATEWAY_PREVIOUS_PSEUDONYM_KEYS=$OLD partner-gateway rotate-pseudonym-key',
      'exit 3: rerun; exit 4: an operator must look first',
    ],
  ]);
  command.action(
    action(async (ctx, flags: { dryRun?: boolean; batchSize: number }) => {
      if (ctx.globals.server)
        throw usageError('rotate-pseudonym-key: runs where the store is, with both keys; leave --server out');
      const gateway = await ctx.gateway({ partners: true, keyRotation: true });
      const report = await gateway.rotatePseudonymKey({
        dryRun: flags.dryRun === true,
        operator: ctx.operator,
        batchSize: flags.batchSize,
      });
      if (ctx.json) await printJson(report);
      else await print(report);
      exit(report);
    }),
  );
}

async function print(report: RotationReport): Promise<void> {
  const words = {
    'dry-run': `dry run: the rotation from key ${report.from}… to ${report.to}… would do`,
    'already-current': `the store is on key ${report.to}… already: nothing to do`,
    complete: `rotation complete: the store is on key ${report.to}… (the old key ${report.from}… stays in PARTNER_GATEWAY_PREVIOUS_PSEUDONYM_KEYS)`,
    'in-progress': `rotation from key ${report.from}… to ${report.to}… in progress: something is left (below); rerun`,
  } as const;
  await info(`rotate-pseudonym-key: ${words[report.state]}`);
  const what = {
    moved: 'created under the new, erased under the old',
    rewritten: 'pseudonym rewritten',
    unchanged: 'nothing keyed by it',
  };
  await line(
    table(
      ['partner', 'change', 'pending', 'held', 'done', 'retry', 'operator'],
      report.partners.map((p) => [
        p.partner,
        what[p.change],
        String(p.pending),
        String(p.held),
        String(p.done),
        String(p.retry.length),
        String(p.operator.length),
      ]),
    ),
  );
  for (const p of report.partners)
    for (const [kind, left] of [
      ['retry', p.retry],
      ['operator', p.operator],
    ] as const)
      for (const l of left.slice(0, 20)) await info(`  ${p.partner} ${l.subjectId} (${kind}): ${l.reason}`);
  for (const partner of report.withoutAdapter)
    await info(`  ${partner}: holds subjects but has no adapter here; enable it for the rotation`);
}

function exit(report: RotationReport): void {
  if (report.state !== 'in-progress') return;
  const operator = report.withoutAdapter.length + report.partners.reduce((n, p) => n + p.operator.length, 0);
  const retry = report.partners.reduce((n, p) => n + p.retry.length, 0);
  if (operator > 0)
    throw new CliError(
      `rotate-pseudonym-key: ${operator} pair(s) or partner(s) need an operator${retry ? `, ${retry} to retry` : ''}; the store stays on the old key`,
      EXIT_DEAD_LETTERS,
    );
  throw new CliError(
    `rotate-pseudonym-key: ${retry} pair(s) left to retry; the store stays on the old key: rerun`,
    EXIT_WORK_LEFT,
  );
}
