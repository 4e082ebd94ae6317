/** `resync`: enqueue reconcile for everyone (or some), then work the queues off (here, or by a server's workers). */
import type { Command } from 'commander';
import type { PartnerCounts as ResyncCounts, ResyncSummary } from '../../index.ts';
import { collect, nonBlank, positiveInt, subjectId } from '../args.ts';
import { action } from '../action.ts';
import type { CliContext } from '../context.ts';
import { CliError, EXIT_REFUSED, EXIT_WORK_LEFT } from '../errors.ts';
import { examples } from '../help.ts';
import { jobTally } from '../job-tally.ts';
import { info, line, printJson, table } from '../output.ts';
import { workOffWithProgress, type WorkOffResult } from '../work-off.ts';

interface ResyncFlags {
  partner?: string[];
  subject?: string[];
  force?: boolean;
  dryRun?: boolean;
  wait: boolean;
  waitForRetries?: boolean;
  allowMassDeletion?: boolean;
  timeout: number;
}

const countColumns = [
  'creates',
  'updates',
  'erasures',
  'suppressions',
  'unchanged',
  'skipped',
  'missing',
  'invalid',
] as const;

export function resyncCommand(program: Command): void {
  const command = program
    .command('resync')
    .description(
      'bring every partner in step with the master records: enqueue what differs, then work it off (unchanged subjects cost no partner call)',
    )
    .option('--partner <name>', 'only this partner (repeatable)', collect(nonBlank))
    .option('--subject <id...>', 'only these subjects (default: the whole source)', collect(subjectId))
    .option('--force', 'send even where the digest says the partner is in step')
    .option('--dry-run', 'count what would happen per partner; call nobody, enqueue nothing')
    .option('--no-wait', 'enqueue only; leave the work to a running worker')
    .option('--wait-for-retries', 'also wait out jobs in retry backoff (default: leave them to the worker)')
    .option(
      '--allow-mass-deletion',
      'go on although the resync would delete (or note missing) more subjects than the deletion limit allows; logged with the operator',
    )
    .option('--timeout <seconds>', 'give up waiting for the queues after this long', positiveInt, 3_600);
  examples(command, [
    ['partner-gateway resync --dry-run', 'count the calls a resync would make, per partner'],
    [
      'partner-gateway resync --partner mailchimp --timeout 600',
      'one partner; exit 3 if work is left after 10 minutes',
    ],
    ['partner-gateway --server http://127.0.0.1:8080 resync', 'enqueue on a running server; watch its workers'],
    ['partner-gateway resync --allow-mass-deletion', 'after checking a refused resync: delete over the limit'],
  ]);
  command.action(
    action(async (ctx, flags: ResyncFlags) => {
      const tally = jobTally();
      const ops = await ctx.ops({ partners: true, observer: tally.observer });
      await ops.checkPartners(flags.partner);
      // Before enqueueing: the bars count this resync's jobs only, not a backlog that was already there.
      const before = flags.dryRun || !flags.wait ? undefined : await ops.status();
      const summary = await ops.resync({
        ...(flags.partner ? { partner: flags.partner } : {}),
        ...(flags.subject ? { subjects: flags.subject.flat() } : {}),
        force: flags.force === true,
        dryRun: flags.dryRun === true,
        operator: ctx.operator,
        ...(flags.allowMassDeletion ? { allowMassDeletion: true } : {}),
      });
      if (summary.dryRun) {
        await report(ctx, summary, undefined);
        return refusal(summary, true);
      }
      if (!before) {
        // Nothing waited for: what was enqueued is left to the workers, and the exit code says so.
        await report(ctx, summary, undefined);
        refusal(summary, false);
        if (summary.enqueued > 0)
          throw new CliError(
            `resync: ${summary.enqueued} job(s) enqueued, not waited for (--no-wait); the workers go on with them`,
            EXIT_WORK_LEFT,
          );
        return;
      }
      // Under --json, stdout is the one JSON document printed at the end.
      if (!ctx.json)
        await info(
          `resync: scanned ${summary.scanned} record(s), ${summary.invalid} invalid; enqueued ${summary.enqueued} job(s) (correlation id ${summary.correlationId})`,
        );
      const totals = Object.fromEntries(
        Object.entries(summary.perPartner).map(([p, c]) => [p, toSend(c, summary.deletions.refused)]),
      );
      const result = await workOffWithProgress(ops, {
        totals,
        before,
        tally: ops.remote ? undefined : tally,
        silent: ctx.json || ctx.quiet,
        label: 'resync',
        timeoutMs: flags.timeout * 1_000,
        waitForRetries: flags.waitForRetries === true,
      });
      await report(ctx, summary, result);
      refusal(summary, false);
      result.exit('resync');
    }),
  );
}

const toSend = (c: ResyncCounts, refused: boolean) =>
  c.creates + c.updates + c.suppressions + (refused ? 0 : c.erasures + c.missing);

/** A resync over the deletion limit deleted nothing: exit 5, naming the limit (a dry run says it would). */
function refusal(summary: ResyncSummary, dryRun: boolean): void {
  const { deletions: d } = summary;
  if (!d.refused) return;
  throw new CliError(
    `resync: ${dryRun ? 'would delete' : 'deleted'} nothing: ${d.subjects} of ${d.held} subject(s) partners hold would be deleted or noted missing, ` +
      `over the deletion limit (more than ${d.limit.count}, or more than ${Math.round(d.limit.share * 100)}% of them); ` +
      'check the record source, then rerun with --allow-mass-deletion if it is meant',
    EXIT_REFUSED,
  );
}

async function report(ctx: CliContext, summary: ResyncSummary, result: WorkOffResult | undefined): Promise<void> {
  const partners = Object.keys(summary.perPartner);
  if (ctx.json) {
    const left = result?.left ?? { queued: summary.dryRun ? 0 : summary.enqueued, retrying: 0, deadLetters: 0 };
    return printJson({
      ...summary,
      ...(result ? { after: result.perPartner, timedOut: result.timedOut } : {}),
      left,
    });
  }
  if (summary.dryRun) {
    await info(
      `resync dry run: scanned ${summary.scanned} record(s), ${summary.invalid} invalid; nothing sent, nothing enqueued`,
    );
  }
  if (ctx.quiet) return;
  const headers = ['partner', ...countColumns, ...(result ? ['done', 'retrying', 'dead', 'left'] : [])];
  const rows = partners.map((p) => {
    const c = summary.perPartner[p]!;
    const r = result?.perPartner[p];
    return [p, ...countColumns.map((k) => c[k]), ...(r ? [r.done, r.retrying, r.dead, r.left] : [])];
  });
  await line(table(headers, rows));
  // Partner-side unsubscribes are withdrawals the subject made: the operator sees that the ledger moved.
  for (const [p, w] of Object.entries(summary.partnerWithdrawals ?? {}))
    if (w.withdrawals > 0)
      await line(
        `resync: ${w.withdrawals} member(s) unsubscribed at ${p} ${summary.dryRun ? 'would be' : 'were'} recorded as consent withdrawals (source ${p})`,
      );
  if (result) await line(`resync ${result.sentence()}`);
}
