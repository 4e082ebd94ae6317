/** `resync`: enqueue reconcile for everyone (or some), then work the queues to idle in this process. */
import type { Command } from 'commander';
import type { Gateway, PartnerStatus } from '../../gateway.ts';
import type { PartnerCounts, ResyncSummary } from '../../resync.ts';
import { checkPartners, collect, nonBlank, positiveInt, subjectId } from '../args.ts';
import { action } from '../action.ts';
import { line, printJson, table } from '../output.ts';
import { partnerProgress } from '../progress.ts';

interface ResyncFlags {
  partner?: string[];
  subject?: string[];
  force?: boolean;
  dryRun?: boolean;
  wait: boolean;
  waitForRetries?: boolean;
  timeout: number;
}

const countColumns = ['creates', 'updates', 'erasures', 'suppressions', 'unchanged', 'skipped'] as const;

export function resyncCommand(program: Command): void {
  program
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
    .option('--timeout <seconds>', 'give up waiting for the queues after this long', positiveInt, 3_600)
    .action(
      action(async (ctx, flags: ResyncFlags) => {
        const gateway = await ctx.gateway({ partners: true });
        await checkPartners(gateway, flags.partner);
        const summary = await gateway.resync({
          ...(flags.partner ? { partner: flags.partner } : {}),
          ...(flags.subject ? { subjects: flags.subject.flat() } : {}),
          force: flags.force === true,
          dryRun: flags.dryRun === true,
          operator: ctx.operator,
        });
        if (summary.dryRun) return report(ctx.json, summary, undefined);
        if (!ctx.json) {
          await line(
            `resync: scanned ${summary.scanned} record(s), ${summary.invalid} invalid; enqueued ${summary.enqueued} job(s) (correlation id ${summary.correlationId})`,
          );
        }
        if (!flags.wait) return report(ctx.json, summary, undefined);
        const after = await workOff(gateway, summary, ctx.json, {
          timeoutMs: flags.timeout * 1_000,
          waitForRetries: flags.waitForRetries === true,
        });
        await report(ctx.json, summary, after);
      }),
    );
}

const toSend = (c: PartnerCounts) => c.creates + c.updates + c.erasures + c.suppressions;

/** Works the queues to idle, with progress per partner from the queue depths. */
async function workOff(
  gateway: Gateway,
  summary: ResyncSummary,
  json: boolean,
  idle: { timeoutMs: number; waitForRetries: boolean },
): Promise<readonly PartnerStatus[]> {
  const totals = Object.fromEntries(Object.entries(summary.perPartner).map(([p, c]) => [p, toSend(c)]));
  const before = new Map((await gateway.status()).partners.map((p) => [p.partner, p]));
  const progress = partnerProgress(totals, { json, label: 'resync' });
  const poll = async () => {
    const now = (await gateway.status()).partners;
    const done: Record<string, number> = {};
    for (const p of now) {
      const backlog = (before.get(p.partner)?.queued ?? 0) + (before.get(p.partner)?.active ?? 0);
      const remaining = Math.max(0, p.queued + p.active - backlog);
      done[p.partner] = (totals[p.partner] ?? 0) - remaining;
    }
    progress.update(done);
    return now;
  };
  let polling = true;
  const poller = (async () => {
    while (polling) {
      await new Promise((r) => setTimeout(r, 250));
      if (polling) await poll().catch(() => undefined);
    }
  })();
  try {
    await gateway.runUntilIdle(idle);
  } finally {
    polling = false;
    await poller;
  }
  const after = await gateway.status();
  // Whatever is left is retrying (backoff) or dead-lettered; the bars show what was worked off.
  progress.update(
    Object.fromEntries(
      after.partners.map((p) => [
        p.partner,
        (totals[p.partner] ?? 0) - p.retrying - Math.max(0, p.deadLetters - (before.get(p.partner)?.deadLetters ?? 0)),
      ]),
    ),
  );
  progress.stop();
  return after.partners;
}

async function report(
  json: boolean,
  summary: ResyncSummary,
  after: readonly PartnerStatus[] | undefined,
): Promise<void> {
  const partners = Object.keys(summary.perPartner);
  if (json) {
    return printJson({
      ...summary,
      ...(after
        ? {
            after: Object.fromEntries(
              after
                .filter((p) => partners.includes(p.partner))
                .map((p) => [p.partner, { retrying: p.retrying, queued: p.queued, deadLetters: p.deadLetters }]),
            ),
          }
        : {}),
    });
  }
  if (summary.dryRun) {
    await line(
      `resync dry run: scanned ${summary.scanned} record(s), ${summary.invalid} invalid; nothing sent, nothing enqueued`,
    );
  }
  const status = new Map(after?.map((p) => [p.partner, p]));
  const headers = ['partner', ...countColumns, ...(after ? ['retrying', 'dead letters'] : [])];
  const rows = partners.map((p) => {
    const c = summary.perPartner[p]!;
    const s = status.get(p);
    return [p, ...countColumns.map((k) => c[k]), ...(after ? [s?.retrying ?? 0, s?.deadLetters ?? 0] : [])];
  });
  await line(table(headers, rows));
  if (after) {
    const retrying = after.reduce((n, p) => n + p.retrying, 0);
    const dead = after.reduce((n, p) => n + p.deadLetters, 0);
    await line(
      retrying + dead === 0
        ? 'resync done: every partner is in step'
        : `resync done: ${retrying} job(s) retrying, ${dead} dead letter(s) (see: partner-gateway status, dead-letters list)`,
    );
  }
}
