/** `consent grant|withdraw`: the consent ledger, with where it came from and the evidence reference. */
import type { Command } from 'commander';
import { nonBlank, positiveInt, subjectId } from '../args.ts';
import { action } from '../action.ts';
import { examples } from '../help.ts';
import { info, printJson } from '../output.ts';
import { settle } from './subject.ts';

interface ConsentFlags {
  purpose: string;
  source: string;
  evidence?: string;
  wait: boolean;
  timeout: number;
}

export function consentCommand(program: Command): void {
  const group = program
    .command('consent')
    .description('record a consent grant or withdrawal (partners that rest on it follow)');
  for (const verb of ['grant', 'withdraw'] as const) {
    const command = group.command(verb);
    examples(
      command,
      verb === 'grant'
        ? [['partner-gateway consent grant cust-42 --purpose marketing --source web-form --evidence form-0042', '']]
        : [
            [
              'partner-gateway consent withdraw cust-42 --purpose marketing --source written-notice --evidence letter-1187',
              '',
            ],
          ],
    );
    command
      .description(
        verb === 'grant'
          ? 'record a consent grant; consent-based partners (newsletters) may then be told the subject subscribed'
          : 'record a withdrawal (a written one: --source written-notice); consent-based partners stop at once (unsubscribed)',
      )
      .argument('<subject>', 'the subject id', subjectId)
      .requiredOption('--purpose <purpose>', 'the consent-based purpose in the policy (e.g. marketing)', nonBlank)
      .requiredOption('--source <source>', 'where it came from: web-form, written-notice, support-ticket...', nonBlank)
      .option(
        '--evidence <ref>',
        'a reference to the evidence (document id, ticket number), never the document itself',
        nonBlank,
      )
      .option('--no-wait', 'record and enqueue only; leave the partner calls to a running worker')
      .option('--timeout <seconds>', 'give up waiting for the partner calls after this long', positiveInt, 120)
      .action(
        action(async (ctx, subject: string, flags: ConsentFlags) => {
          const ops = await ctx.ops({ partners: true });
          ops.checkConsentPurpose(flags.purpose);
          const input = {
            source: flags.source,
            operator: ctx.operator,
            ...(flags.evidence ? { evidence: flags.evidence } : {}),
          };
          const entry = await ops.consent(verb, subject, flags.purpose, input);
          if (ctx.json) await printJson(entry);
          else
            await info(
              `consent for ${entry.purpose} ${entry.status} for ${entry.subjectId} (entry ${entry.id}, source ${entry.source}${entry.evidence ? `, evidence ${entry.evidence}` : ''})`,
            );
          await settle(ops, flags.wait, flags.timeout, `consent ${verb}`);
        }),
      );
  }
}
