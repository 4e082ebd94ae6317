/**
 * `requests list|show|receive|verify|extend|answer`: the register of data subjects' requests (GDPR
 * Art. 12), with when each is due. Registering a request does not carry it out: erase, restrict,
 * access --request and the rest do, once the requester is verified.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { requestKinds, requestOutcomes, type SubjectRequest } from '../../lifecycle/types.ts';
import { isoDate, nonBlank, positiveInt, subjectId } from '../args.ts';
import { usageError } from '../errors.ts';
import { line, printJson, table, write } from '../output.ts';
import { action } from '../action.ts';

const REQUEST_ID = /^[1-9][0-9]{0,17}$/;

/** A register id; anything else is not echoed (it may be a name or an email typed in the wrong place). */
function requestId(value: string): string {
  if (!REQUEST_ID.test(value)) throw usageError('invalid request id: it is the number `requests list` shows');
  return value;
}

function pastDate(value: string): Date {
  const date = isoDate(value);
  if (date.getTime() > Date.now() + 60_000) throw new InvalidArgumentError('must not be in the future');
  return date;
}

const day = (d: Date | null) => (d ? d.toISOString().slice(0, 16).replace('T', ' ') : null);

async function printRequests(requests: readonly SubjectRequest[]): Promise<void> {
  if (requests.length === 0) return line('no requests');
  await line(
    table(
      ['id', 'subject', 'kind', 'received', 'verified', 'due (UTC)', 'state', 'answered'],
      requests.map((r) => [
        r.id,
        r.subjectId,
        r.kind,
        `${day(r.receivedAt)} ${r.channel}`,
        r.verifiedAt ? `${day(r.verifiedAt)} ${r.verification ?? ''}`.trim() : 'no',
        `${day(r.dueAt)}${r.extendedTo ? ' (extended)' : ''}`,
        r.state,
        r.answeredAt ? `${day(r.answeredAt)} ${r.answerChannel ?? ''} ${r.outcome ?? ''}`.trim() : '-',
      ]),
    ),
  );
}

async function printOne(r: SubjectRequest, verb: string): Promise<void> {
  await line(`request ${r.id} (${r.kind}, ${r.subjectId}) ${verb}: due ${r.dueAt.toISOString()}, ${r.state}`);
}

export function requestsCommand(program: Command): void {
  const group = program
    .command('requests')
    .description(
      "the register of data subjects' requests: received, verified, due (one month, GDPR Art. 12(3)), answered",
    );

  group
    .command('list')
    .description('requests, overdue first (state overdue: the one-month deadline has passed)')
    .option('--subject <subject>', 'only this subject', subjectId)
    .option('--open', 'only requests not yet answered')
    .option('--overdue', 'only open requests past their due date')
    .addOption(new Option('--kind <kind>', 'only this kind').choices([...requestKinds]))
    .action(
      action(
        async (ctx, flags: { subject?: string; open?: boolean; overdue?: boolean; kind?: SubjectRequest['kind'] }) => {
          const gateway = await ctx.gateway({ partners: false });
          const requests = flags.overdue
            ? (await gateway.requests.overdue()).filter(
                (r) => (!flags.subject || r.subjectId === flags.subject) && (!flags.kind || r.kind === flags.kind),
              )
            : await gateway.requests.list({
                ...(flags.subject ? { subjectId: flags.subject } : {}),
                ...(flags.open ? { open: true } : {}),
                ...(flags.kind ? { kind: flags.kind } : {}),
              });
          if (ctx.json) return printJson(requests);
          await printRequests(requests);
        },
      ),
    );

  group
    .command('show')
    .description('one request in full')
    .argument('<id>', 'the request id', requestId)
    .action(
      action(async (ctx, id: string) => {
        const gateway = await ctx.gateway({ partners: false });
        const r = await gateway.requests.get(id);
        if (ctx.json) return printJson(r);
        const rows: [string, string | null][] = [
          ['subject', r.subjectId],
          ['kind', r.kind],
          ['received', `${r.receivedAt.toISOString()} by ${r.channel}${r.reference ? ` (${r.reference})` : ''}`],
          [
            'verified',
            r.verifiedAt
              ? `${r.verifiedAt.toISOString()} by ${r.verification}${r.verificationReference ? ` (${r.verificationReference})` : ''}`
              : 'not yet',
          ],
          ['due', r.originalDueAt.toISOString()],
          ['extended to', r.extendedTo ? `${r.extendedTo.toISOString()}: ${r.extensionReason}` : null],
          [
            'answered',
            r.answeredAt
              ? `${r.answeredAt.toISOString()} by ${r.answerChannel}, ${r.outcome}${r.answerReference ? ` (${r.answerReference})` : ''}`
              : null,
          ],
          ['state', r.state],
          ['registered by', r.operator],
        ];
        await line(table(['request', r.id], rows));
      }),
    );

  group
    .command('report')
    .description("answer an access request: the subject's access report, naming the request it answers")
    .argument('<id>', 'the access request id', requestId)
    .addOption(new Option('--format <format>', 'report format').choices(['json', 'md', 'html']).default('md'))
    .addOption(new Option('--lang <lang>', 'language of md and html').choices(['sv', 'en']).default('sv'))
    .option('--live', 'also ask each partner what it holds now')
    .action(
      action(async (ctx, id: string, flags: { format: 'json' | 'md' | 'html'; lang: 'sv' | 'en'; live?: boolean }) => {
        const gateway = await ctx.gateway({ partners: flags.live === true });
        const request = await gateway.requests.get(id);
        const report = await gateway.access(request.subjectId, { live: flags.live === true, requestId: id });
        const { renderAccessReport } = await import('../../lifecycle/index.ts');
        const text = renderAccessReport(report, gateway.policy, {
          format: ctx.json ? 'json' : flags.format,
          lang: flags.lang,
        });
        await write(text.endsWith('\n') ? text : `${text}\n`);
      }),
    );

  group
    .command('receive')
    .description('register a request as it arrives (due one month after receipt)')
    .argument('<subject>', 'the subject id', subjectId)
    .addOption(new Option('--kind <kind>', 'what is asked').choices([...requestKinds]).makeOptionMandatory())
    .requiredOption('--channel <channel>', 'how it arrived: letter, email, web-form, phone...', nonBlank)
    .option('--reference <ref>', 'where the request is kept (letter or ticket number), never its content', nonBlank)
    .option('--received <date>', 'when it arrived, if not now (ISO 8601)', pastDate)
    .action(
      action(
        async (
          ctx,
          subject: string,
          flags: { kind: SubjectRequest['kind']; channel: string; reference?: string; received?: Date },
        ) => {
          const gateway = await ctx.gateway({ partners: false });
          const r = await gateway.requests.receive(subject, {
            kind: flags.kind,
            channel: flags.channel,
            operator: ctx.operator,
            ...(flags.reference ? { reference: flags.reference } : {}),
            ...(flags.received ? { receivedAt: flags.received } : {}),
          });
          if (ctx.json) return printJson(r);
          await printOne(r, 'received');
        },
      ),
    );

  group
    .command('verify')
    .description("record how the requester's identity was verified (the notice asks for a signed request)")
    .argument('<id>', 'the request id', requestId)
    .requiredOption('--method <method>', 'signed-letter, bankid, id-document...', nonBlank)
    .option('--reference <ref>', 'where the proof is kept, never the document itself', nonBlank)
    .action(
      action(async (ctx, id: string, flags: { method: string; reference?: string }) => {
        const gateway = await ctx.gateway({ partners: false });
        const r = await gateway.requests.verify(id, {
          method: flags.method,
          operator: ctx.operator,
          ...(flags.reference ? { reference: flags.reference } : {}),
        });
        if (ctx.json) return printJson(r);
        await printOne(r, 'verified');
      }),
    );

  group
    .command('extend')
    .description(
      'extend the deadline (Art. 12(3): within the first month, by at most two months; tell the requester why)',
    )
    .argument('<id>', 'the request id', requestId)
    .requiredOption('--months <n>', 'further months (1 or 2)', positiveInt)
    .requiredOption('--reason <text>', 'why, as told to the requester (kept in the register, never logged)', nonBlank)
    .action(
      action(async (ctx, id: string, flags: { months: number; reason: string }) => {
        const gateway = await ctx.gateway({ partners: false });
        const r = await gateway.requests.extend(id, {
          months: flags.months,
          reason: flags.reason,
          operator: ctx.operator,
        });
        if (ctx.json) return printJson(r);
        await printOne(r, 'extended');
      }),
    );

  group
    .command('answer')
    .description('record that (and how) the request was answered')
    .argument('<id>', 'the request id', requestId)
    .requiredOption('--channel <channel>', 'how the answer went out: letter, email, secure-message...', nonBlank)
    .addOption(
      new Option('--outcome <outcome>', 'what the answer was').choices([...requestOutcomes]).default('fulfilled'),
    )
    .option('--reference <ref>', 'where the answer is kept (letter or ticket number)', nonBlank)
    .action(
      action(
        async (ctx, id: string, flags: { channel: string; outcome: SubjectRequest['outcome']; reference?: string }) => {
          const gateway = await ctx.gateway({ partners: false });
          const r = await gateway.requests.answer(id, {
            channel: flags.channel,
            operator: ctx.operator,
            ...(flags.outcome ? { outcome: flags.outcome } : {}),
            ...(flags.reference ? { reference: flags.reference } : {}),
          });
          if (ctx.json) return printJson(r);
          await printOne(r, 'answered');
        },
      ),
    );
}
