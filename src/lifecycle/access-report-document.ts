import type { Policy } from '../policy/index.ts';
import { accessReportText, type AccessReportLang, type AccessReportText } from './access-report-text.ts';
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
  const category = (name: string) => doc.categories[name]?.label[lang] ?? name;
  const purpose = (name: string) => doc.purposes[name]?.label[lang] ?? name;
  const controller = (doc.controller as { displayName?: string }).displayName ?? doc.controller.name;
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
    { kind: 'heading', level: 2, text: t.restrictionHeading },
  ];

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
      rows: e.partners.map((p) => [
        policy.document.partners[p.partner]?.displayName ?? p.partner,
        t.erasureStates[p.state],
      ]),
    });
  }

  blocks.push({ kind: 'heading', level: 2, text: t.partnersHeading });
  for (const p of report.partners) blocks.push(...partnerBlocks(p, policy, lang, t, when, category, purpose));
  return { lang, title: t.title, blocks };
}

function partnerBlocks(
  p: AccessReportPartner,
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
  const description = policy.document.partners[p.partner]?.description[lang];
  const blocks: Block[] = [{ kind: 'heading', level: 3, text: p.displayName }];
  if (description) blocks.push({ kind: 'paragraph', text: description });
  blocks.push({
    kind: 'facts',
    rows: [
      [t.purpose, purpose(p.purpose)],
      [t.legalBasis, t.legalBases[p.legalBasis] ?? p.legalBasis],
      [t.sentByUs, list(p.sentByUs)],
      [t.collectedDirectly, list(p.collectedDirectly)],
      [t.holdsNow, p.holds ? t.yes : t.no],
      [t.lastSent, p.lastSentAt ? `${when(p.lastSentAt)} (${fieldsAsCategories(p.lastSentFields)})` : t.never],
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
        t.operations[x.operation] ?? x.operation,
        t.triggers[x.trigger] ?? x.trigger,
        t.outcomes[(x.outcome ?? 'pending') as keyof AccessReportText['outcomes']] ?? x.outcome ?? '',
        fieldsAsCategories(x.fields),
      ]),
    });
  }
  if (p.retainedAfterErasure.length > 0) {
    blocks.push(
      { kind: 'heading', level: 4, text: t.retainedHeading },
      { kind: 'list', items: p.retainedAfterErasure },
    );
  }
  if (p.live) {
    blocks.push({ kind: 'heading', level: 4, text: t.liveHeading(p.displayName) });
    if ('error' in p.live) blocks.push({ kind: 'paragraph', text: t.liveError(p.live.error) });
    else {
      const rows = flatten(p.live.fields);
      if (!p.live.found || rows.length === 0) blocks.push({ kind: 'paragraph', text: t.liveNotFound });
      else
        blocks.push({
          kind: 'table',
          head: t.liveColumns,
          rows: rows.map(([k, v]) => [liveLabel(k, policy, lang), v]),
        });
    }
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

/** Nested values as dotted paths with printable values, in a stable order. */
function flatten(value: Readonly<Record<string, unknown>>, prefix = ''): [string, string][] {
  const out: [string, string][] = [];
  for (const key of Object.keys(value).sort()) {
    const v = value[key];
    const path = prefix ? `${prefix}.${key}` : key;
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date))
      out.push(...flatten(v as Record<string, unknown>, path));
    else if (v !== undefined && v !== null)
      out.push([path, v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.map(String).join(', ') : String(v)]);
  }
  return out;
}

function liveLabel(path: string, policy: Policy, lang: AccessReportLang): string {
  const category = policy.categoryOfField(path);
  const label = category ? policy.document.categories[category]?.label[lang] : undefined;
  return label ? `${label} (${path})` : path;
}
