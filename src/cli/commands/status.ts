/** `status`: queue depth, retries, in-flight and dead letters per partner; erasures pending and overdue. */
import type { Command } from 'commander';
import { action } from '../action.ts';
import { examples } from '../help.ts';
import { line, printJson, table } from '../output.ts';

export function statusCommand(program: Command): void {
  const command = program
    .command('status')
    .description(
      'queues per partner (queued, retrying, active, dead letters, failed calls in 24 h), erasures pending and overdue with what each still lacks and since when, restrictions not yet carried out at partners, unsealed log rows',
    );
  examples(command, [
    ['partner-gateway status', 'from the store (no partner credentials needed)'],
    ['partner-gateway --server http://127.0.0.1:8080 status --json', 'from a running ops server'],
  ]);
  command.action(
    action(async (ctx) => {
      // Read-only: the partners are named, their credentials are not read.
      const ops = await ctx.ops({ partners: 'offline', readOnly: true });
      const status = await ops.status();
      if (ctx.json) return printJson(status);
      await line(
        table(
          ['partner', 'queued', 'retrying', 'active', 'dead letters', 'failed 24h', 'lag s'],
          status.partners.map((p) => [
            p.partner,
            p.queued,
            p.retrying,
            p.active,
            p.deadLetters,
            p.failedCalls24h,
            // A server older than this CLI does not report lag.
            p.lagSeconds === undefined ? '-' : Math.round(p.lagSeconds),
          ]),
        ),
      );
      await line();
      await line(`erasures: ${status.erasures.pending} pending, ${status.erasures.overdue} overdue`);
      const incomplete = status.erasures.incomplete ?? [];
      if (incomplete.length > 0)
        await line(
          table(
            ['subject', 'overdue', 'missing', 'partner / hook', 'since', 'detail'],
            incomplete.flatMap((e) =>
              e.missing.map((m) => [
                e.subjectId,
                e.overdue ? 'yes' : 'no',
                m.kind,
                m.partner ?? m.hook ?? '-',
                new Date(m.since).toISOString(),
                m.detail,
              ]),
            ),
          ),
        );
      // A server older than this CLI may not report missing records.
      const missing = status.missingRecords ?? { count: 0, oldest: [] };
      await line(`records missing from the source: ${missing.count}`);
      for (const m of missing.oldest.slice(0, 10))
        await line(
          `  ${m.subjectId}: record missing since ${new Date(m.since).toISOString()}, erased after ${new Date(m.erasureAfter).toISOString()} unless it comes back`,
        );
      // A server older than this CLI may not report restrictions.
      const r = status.restrictions;
      if (r)
        await line(
          `restrictions: ${r.restricted} subject(s) restricted; partner records still to be told ${r.toTell}, still to be lifted ${r.toLift}`,
        );
      // A server older than this CLI may not report the policy's reach.
      const notInStep = status.policy?.notInStep ?? [];
      await line(
        notInStep.length === 0
          ? `policy ${status.policy?.digest.slice(0, 12) ?? '(unknown)'}: every subject partners hold is in step with it`
          : `policy ${status.policy!.digest.slice(0, 12)}: subjects not yet in step with it (a resync brings them): ${notInStep.map((n) => `${n.partner} ${n.subjects}`).join(', ')}`,
      );
      for (const o of status.offboarding ?? [])
        await line(
          o.done
            ? `offboarding ${o.partner}: done (holds nothing the gateway knows of; ${o.erased} erased)`
            : `offboarding ${o.partner}: ${o.holding} subject(s) still held, ${o.erased} erased (not in the policy: run offboard ${o.partner})`,
        );
      await line(`transfer log: ${status.log.unsealed} row(s) not sealed yet`);
    }),
  );
}
