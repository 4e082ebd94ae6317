import type { Policy } from '../policy/index.ts';
import { accessReportText, type AccessReportLang, type AccessReportText } from './access-report-text.ts';
import { own } from '../policy/schema.ts';
import type { AccessReport, AccessReportPartner } from './types.ts';

/**
 * The report as a plain document (headings, paragraphs, facts, lists, tables of plain strings), in
 * one language. Markdown and HTML are renderings of this one structure, so both say the same thing
 * and each renderer only has to escape strings, never to know what a report is.
 */
export type Block =
  | { readonly kind: 'heading'; readonly level: 1 | 2 | 3 | 4; readonly text: string }
  | { readonly kind: 'paragraph'; readonly text: string }
  | { readonly kind: 'facts'; readonly rows: readonly (readonly [string, string])[] }
  | { readonly kind: 'list'; readonly items: readonly string[] }
  | { readonly kind: 'table'; readonly head: readonly string[]; readonly rows: readonly (readonly string[])[] };

export interface ReportDocument {
  readonly lang: AccessReportLang;
  readonly title: string;
  readonly blocks: readonly Block[];
}

export function reportDocument(report: AccessReport, policy: Policy, lang: AccessReportLang): ReportDocument {
  const t = accessReportText[lang];
  const doc = policy.document;
  const timeZone = doc.retention.timeZone;
  const when = (d: Date) => formatTime(d, timeZone);
  const category = (name: string) => own(doc.categories, name)?.label[lang] ?? name;
  const purpose = (name: string) => own(doc.purposes, name)?.label[lang] ?? name;
  const word = (w: string) => t.channels[w] ?? w;
  const controller = doc.controller.displayName ?? doc.controller.name;
  const blocks: Block[] = [
    { kind: 'heading', level: 1, text: t.title },
    { kind: 'paragraph', text: t.intro(controller) },
    {
      kind: 'facts',
      rows: [
        [t.subjectId, report.subjectId],
        [t.generated, when(report.generatedAt)],
        [t.timeZone, timeZone],
        [t.policyDigest, report.policyDigest.slice(0, 12)],
      ],
    },
  ];
  const asked = report.answersRequest;
  if (asked)
    blocks.push({
      kind: 'paragraph',
      text: t.answersRequest(when(asked.receivedAt), asked.verification ? word(asked.verification) : null),
    });

  blocks.push(...companyBlocks(report, policy, t, category));
  blocks.push(...requestBlocks(report, t, when, word));

  blocks.push({ kind: 'heading', level: 2, text: t.restrictionHeading });
  const r = report.restriction;
  if (r.restricted) {
    blocks.push({ kind: 'paragraph', text: t.restricted(r.since ? when(r.since) : '–') });
    if (r.reason) blocks.push({ kind: 'facts', rows: [[t.reason, r.reason]] });
  } else blocks.push({ kind: 'paragraph', text: t.notRestricted });

  blocks.push({ kind: 'heading', level: 2, text: t.consentHeading });
  if (report.consent.length === 0) blocks.push({ kind: 'paragraph', text: t.noConsent });
  else {
    blocks.push({
      kind: 'table',
      head: t.consentColumns,
      rows: report.consent.map((c) => [
        when(c.at),
        purpose(c.purpose),
        t.consentStatus[c.status],
        t.consentSources[c.source] ?? c.source,
        c.evidence ?? '–',
      ]),
    });
  }

  blocks.push({ kind: 'heading', level: 2, text: t.erasureHeading });
  if (report.recordMissing) {
    const { since, erasureAfter } = report.recordMissing;
    blocks.push({ kind: 'paragraph', text: t.recordMissing(when(since), when(erasureAfter)) });
  }
  const e = report.erasure;
  if (!e) blocks.push({ kind: 'paragraph', text: t.noErasure });
  else {
    const facts: (readonly [string, string])[] = [];
    if (e.dueAt) facts.push([t.erasureDue, when(e.dueAt)]);
    if (e.completedAt) facts.push([t.erasureCompleted, when(e.completedAt)]);
    if (facts.length > 0) blocks.push({ kind: 'facts', rows: facts });
    if (!e.complete) blocks.push({ kind: 'paragraph', text: t.erasureInProgress });
    blocks.push({
      kind: 'table',
      head: t.erasureColumns,
      rows: e.partners.map((p) => [own(doc.partners, p.partner)?.displayName ?? p.partner, t.erasureStates[p.state]]),
    });
    if (e.missing.length > 0)
      blocks.push(
        { kind: 'heading', level: 3, text: t.erasureMissingHeading },
        {
          kind: 'table',
          head: t.erasureMissingColumns,
          rows: e.missing.map((m) => [
            t.erasureGapKinds[m.kind],
            m.partner ? (own(doc.partners, m.partner)?.displayName ?? m.partner) : '–',
            when(m.since),
          ]),
        },
      );
  }

  const camera = Object.values(doc.categories).some((c) => c.camera);
  blocks.push(
    { kind: 'heading', level: 2, text: t.retentionHeading },
    {
      kind: 'list',
      items: [
        t.erasureRule(timeZone, camera),
        t.recordsRule(doc.retention.gatewayRecordsAfterRelationshipEnds.years),
        t.partnerKeepsRule,
      ],
    },
  );

  blocks.push({ kind: 'heading', level: 2, text: t.partnersHeading });
  for (const p of report.partners)
    blocks.push(...partnerBlocks(p, report.restriction.restricted, policy, lang, t, when, category, purpose));

  blocks.push(...rightsBlocks(policy, lang, t));
  return { lang, title: t.title, blocks };
}

function companyBlocks(
  report: AccessReport,
  policy: Policy,
  t: AccessReportText,
  category: (name: string) => string,
): Block[] {
  const doc = policy.document;
  const company = doc.controller.displayName ?? doc.controller.name;
  const blocks: Block[] = [
    { kind: 'heading', level: 2, text: t.companyHeading(company) },
    { kind: 'paragraph', text: t.companyIntro(company) },
    { kind: 'facts', rows: [[t.heldCategories, doc.held.map(category).join(', ')]] },
  ];
  if (doc.held.some((c) => own(doc.categories, c)?.camera)) blocks.push({ kind: 'paragraph', text: t.cameraStays });

  blocks.push({ kind: 'heading', level: 3, text: t.recordHeading });
  const record = report.company.record;
  if ('error' in record) blocks.push({ kind: 'paragraph', text: t.recordError(record.error) });
  else if (!record.found || record.fields.length === 0) blocks.push({ kind: 'paragraph', text: t.recordNotFound });
  else
    blocks.push({
      kind: 'table',
      head: t.recordColumns,
      rows: record.fields.map((f) => [f.category ? category(f.category) : t.notCovered, f.path, f.value]),
    });

  const other = report.company.other;
  if (other !== null) {
    blocks.push({ kind: 'heading', level: 3, text: t.otherHoldingsHeading });
    if ('error' in other && typeof other.error === 'string')
      blocks.push({ kind: 'paragraph', text: t.otherHoldingsError(other.error) });
    else {
      const entries = Object.entries(other as Readonly<Record<string, readonly string[]>>);
      // In the policy's order of categories the company holds; anything else the host named after.
      const rank = (c: string) => (doc.held.includes(c) ? doc.held.indexOf(c) : doc.held.length);
      entries.sort(([a], [b]) => rank(a) - rank(b));
      if (entries.length === 0) blocks.push({ kind: 'paragraph', text: t.noOtherHoldings });
      else
        blocks.push({
          kind: 'list',
          items: entries.flatMap(([c, items]) =>
            items.map((item) => `${own(doc.categories, c) ? category(c) : t.notCovered}: ${item}`),
          ),
        });
    }
  }
  return blocks;
}

function requestBlocks(
  report: AccessReport,
  t: AccessReportText,
  when: (d: Date) => string,
  word: (w: string) => string,
): Block[] {
  const blocks: Block[] = [{ kind: 'heading', level: 2, text: t.requestsHeading }];
  if (report.requests.length === 0) return [...blocks, { kind: 'paragraph', text: t.noRequests }];
  blocks.push({
    kind: 'table',
    head: t.requestColumns,
    rows: report.requests.map((r) => [
      `${when(r.receivedAt)} (${word(r.channel)})`,
      t.requestKinds[r.kind] ?? r.kind,
      r.verifiedAt ? `${when(r.verifiedAt)}${r.verification ? ` (${word(r.verification)})` : ''}` : t.notVerified,
      `${when(r.dueAt)}${r.extendedTo ? ` (${t.extendedTo(when(r.extendedTo))})` : ''}`,
      r.answeredAt
        ? `${when(r.answeredAt)} (${[
            r.answerChannel ? word(r.answerChannel) : null,
            r.outcome ? (t.outcomes2[r.outcome] ?? r.outcome) : null,
          ]
            .filter(Boolean)
            .join(', ')})`
        : t.requestStates[r.state],
    ]),
  });
  return blocks;
}

function rightsBlocks(policy: Policy, lang: AccessReportLang, t: AccessReportText): Block[] {
  const doc = policy.document;
  const bases = new Set(Object.values(doc.purposes).map((p) => p.legalBasis));
  const items = [
    t.rights.access,
    t.rights.rectification,
    t.rights.erasure,
    t.rights.restriction,
    // Art. 21 applies to processing on legitimate interest; Art. 20 to consent and contract.
    ...(bases.has('legitimate_interest') ? [t.rights.objection] : []),
    ...(bases.has('consent') || bases.has('contract') ? [t.rights.portability] : []),
    ...(bases.has('consent') ? [t.rights.withdraw] : []),
  ];
  return [
    { kind: 'heading', level: 2, text: t.rightsHeading },
    { kind: 'list', items },
    { kind: 'paragraph', text: t.howToRequest(doc.rights.howToRequest[lang]) },
    { kind: 'paragraph', text: t.answerWithin(doc.rights.answerWithinMonths, doc.rights.maxExtensionMonths) },
    { kind: 'paragraph', text: t.complaint(doc.controller.supervisoryAuthority[lang]) },
  ];
}

/** The partner's restriction behaviour, and while a restriction is in force whether it was told. */
function restrictionFact(p: AccessReportPartner, restricted: boolean, t: AccessReportText): string {
  const { behaviour, applied } = p.restriction ?? { behaviour: 'keep', applied: null };
  const told = p.holds || p.collectsFor.length > 0 || applied !== null;
  const state = restricted && told ? ` ${applied !== null ? t.restrictionApplied : t.restrictionPending}` : '';
  return `${t.restrictionBehaviours[applied ?? behaviour]}${state}`;
}

function partnerBlocks(
  p: AccessReportPartner,
  restricted: boolean,
  policy: Policy,
  lang: AccessReportLang,
  t: AccessReportText,
  when: (d: Date) => string,
  category: (name: string) => string,
  purpose: (name: string) => string,
): Block[] {
  const list = (names: readonly string[]) => (names.length === 0 ? t.none : names.map(category).join(', '));
  // Field paths read as their categories ("name.given, name.family" -> "Namn"); unknown ones as is.
  const fieldsAsCategories = (fields: readonly string[]) =>
    fields.length === 0
      ? '–'
      : [
          ...new Set(
            fields.map((f) => {
              const c = policy.categoryOfField(f);
              return c ? category(c) : f;
            }),
          ),
        ].join(', ');
  const partnerPolicy = own(policy.document.partners, p.partner);
  const operation = (op: string) => {
    // 'action:alarm' -> the action's own label (Larmsamtal / Alarm call).
    if (op.startsWith('action:')) {
      const name = op.slice('action:'.length);
      return (partnerPolicy && own(partnerPolicy.actions, name)?.label[lang]) ?? t.operations.action ?? op;
    }
    return t.operations[op] ?? op;
  };
  const blocks: Block[] = [{ kind: 'heading', level: 3, text: p.displayName }];
  if (partnerPolicy) blocks.push({ kind: 'paragraph', text: partnerPolicy.description[lang] });
  if (p.sharedRecord) blocks.push({ kind: 'paragraph', text: t.sharedRecord });
  const transfer = partnerPolicy?.transfer;
  const holds =
    p.collectsFor.length > 0
      ? t.collectsFor(list(p.collectedDirectly), p.collectsFor.join(', '))
      : p.holds
        ? t.yes
        : t.no;
  blocks.push({
    kind: 'facts',
    rows: [
      [t.purpose, purpose(p.purpose)],
      [t.legalBasis, t.legalBases[p.legalBasis] ?? p.legalBasis],
      ...(transfer
        ? [
            [
              t.transferOutside,
              transfer.outsideEea ? t.transferYes(transfer.country[lang], transfer.safeguard[lang]) : t.transferNo,
            ] as const,
          ]
        : []),
      [t.sentByUs, list(p.sentByUs)],
      [t.collectedDirectly, list(p.collectedDirectly)],
      [t.holdsNow, holds],
      [t.lastSent, p.lastSentAt ? `${when(p.lastSentAt)} (${fieldsAsCategories(p.lastSentFields)})` : t.never],
      [t.whileRestricted, restrictionFact(p, restricted, t)],
    ],
  });
  blocks.push({ kind: 'heading', level: 4, text: t.transfersHeading });
  if (p.transfers.length === 0) blocks.push({ kind: 'paragraph', text: t.noTransfers });
  else {
    blocks.push({
      kind: 'table',
      head: t.transferColumns,
      rows: p.transfers.map((x) => [
        when(x.at),
        operation(x.operation),
        t.triggers[x.trigger] ?? x.trigger,
        t.outcomes[(x.outcome ?? 'pending') as keyof AccessReportText['outcomes']] ?? x.outcome ?? '',
        fieldsAsCategories(x.fields),
      ]),
    });
  }
  // The policy's statements in the reader's language; the adapter's (English) only where the policy has none.
  const kept = partnerPolicy?.keepsAfterErasure.map((k) => k[lang]) ?? [];
  const retained = kept.length > 0 ? kept : p.retainedAfterErasure;
  if (retained.length > 0) {
    blocks.push({ kind: 'heading', level: 4, text: t.retainedHeading }, { kind: 'list', items: retained });
  }
  if (p.live) {
    blocks.push({ kind: 'heading', level: 4, text: t.liveHeading(p.displayName) });
    if ('error' in p.live) blocks.push({ kind: 'paragraph', text: t.liveError(p.live.error) });
    else if (!p.live.found || p.live.items.length === 0) blocks.push({ kind: 'paragraph', text: t.liveNotFound });
    else
      blocks.push({
        kind: 'table',
        head: t.liveColumns,
        rows: p.live.items.map((item) => [
          item.category === null
            ? t.notCovered
            : item.outsidePolicy
              ? t.outsidePolicy(category(item.category))
              : category(item.category),
          item.path,
          item.value,
        ]),
      });
  }
  return blocks;
}

/** "2026-03-10 13:05" in the policy's time zone: one unambiguous form for both languages. */
export function formatTime(at: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}
