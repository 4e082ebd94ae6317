/**
 * The public "where your data is" notice, rendered from the policy the gateway enforces, so the two
 * cannot drift: a partner, a category sent, a consent-based purpose or a retention period exists in the
 * notice exactly when it exists in the policy.
 */
import type { Policy } from './load.ts';
import { own, type PolicyDocument } from './schema.ts';
import { inSentence, noticeText, type NoticeLang } from './notice-text.ts';

export type { NoticeLang } from './notice-text.ts';
export type NoticeFormat = 'md' | 'html' | 'text';

export interface NoticeOptions {
  readonly lang: NoticeLang;
  readonly format: NoticeFormat;
}

export interface NoticeSection {
  readonly id: 'company' | 'leaving' | 'other' | `partner:${string}`;
  readonly heading: string;
  readonly paragraphs: readonly string[];
  /** Bullets: category labels (what is held) or, in the "other" section, the rules. */
  readonly list: readonly string[];
  readonly listKind: 'categories' | 'rules';
  /** Prose after the list. */
  readonly closing: readonly string[];
}

export interface NoticeModel {
  readonly lang: NoticeLang;
  readonly title: string;
  readonly sections: readonly NoticeSection[];
}

export function renderNotice(policy: Policy, options: NoticeOptions): string {
  const model = noticeModel(policy, options.lang);
  switch (options.format) {
    case 'md':
      return renderMarkdown(model);
    case 'html':
      return renderHtml(model);
    case 'text':
      return renderText(model);
  }
}

/**
 * The categories the notice lists for a partner, in order: everything the gateway sends (always, so the
 * notice can never understate what the gateway itself transfers), then what the partner collects
 * directly, except activity records (`activity: true`), which the partner's description covers.
 */
export function noticeCategories(document: PolicyDocument, partner: string): string[] {
  const p = document.partners[partner];
  if (!p) throw new Error(`partner ${partner} is not in the policy`);
  const collected = p.collects.filter((c) => document.categories[c]?.activity !== true);
  return [...new Set([...p.sends, ...collected])];
}

export function noticeModel(policy: Policy, lang: NoticeLang): NoticeModel {
  const doc = policy.document;
  const t = noticeText[lang];
  const company = doc.controller.displayName ?? doc.controller.name;
  const label = (category: string): string => {
    const c = doc.categories[category];
    // The loader has already rejected unknown categories; this guards a hand-built document.
    if (!c) throw new Error(`unknown category ${category} in the policy`);
    return c.label[lang];
  };
  const cameraKinds = Object.values(doc.categories)
    .filter((c) => c.camera)
    .map((c) => inSentence(c.label[lang]));

  const sections: NoticeSection[] = [
    {
      id: 'company',
      heading: t.companyHeading(company, doc.controller.hosting[lang]),
      paragraphs: [t.masterCopy(company), ...(cameraKinds.length > 0 ? [t.cameraStays(cameraKinds)] : [])],
      list: doc.held.map(label),
      listKind: 'categories',
      closing: [],
    },
  ];

  for (const [name, partner] of Object.entries(doc.partners)) {
    const purpose = own(doc.purposes, partner.purpose);
    if (!purpose) throw new Error(`unknown purpose ${partner.purpose} in the policy`);
    sections.push({
      id: `partner:${name}`,
      heading: partner.displayName,
      // The published description first, word for word; then what the regulator looks for and the
      // original left implicit: why (legal basis, the interest pursued) and where (outside the EU/EEA).
      paragraphs: [
        partner.description[lang],
        t.legalBasis(inSentence(purpose.label[lang]), purpose.legalBasis),
        ...(purpose.legitimateInterest
          ? [`${t.legitimateInterest(purpose.legitimateInterest[lang])} ${t.rightToObject}`]
          : []),
        ...(partner.transfer.outsideEea
          ? [t.transfer(partner.displayName, partner.transfer.country[lang], partner.transfer.safeguard[lang])]
          : []),
      ],
      list: noticeCategories(doc, name).map(label),
      listKind: 'categories',
      closing: [],
    });
  }

  // Each statement stands alone (the access report shows it under its partner); here, in one list,
  // one that does not name its partner gets the name in front.
  const kept = Object.values(doc.partners).flatMap((p) =>
    p.keepsAfterErasure.map(({ [lang]: statement }) =>
      statement.toLowerCase().includes(p.displayName.toLowerCase()) ? statement : `${p.displayName}: ${statement}`,
    ),
  );
  const archiving = Object.values(doc.partners)
    .filter((p) => p.erasure === 'archive')
    .map((p) => p.displayName);
  sections.push({
    id: 'leaving',
    heading: t.leavingHeading,
    paragraphs: [
      t.leaving({ anonymiseCamera: cameraKinds.length > 0, timeZone: doc.retention.timeZone }),
      // "We erase everything" would be false for a partner that only archives: say so.
      ...(archiving.length > 0 ? [t.archivedInstead(archiving)] : []),
      ...(kept.length > 0 ? [t.keptAfterErasure] : []),
    ],
    list: kept,
    listKind: 'categories',
    closing: [],
  });

  const consentPurposes = [
    ...new Set(Object.values(doc.partners).flatMap((p) => (p.consent ? [p.consent.purpose] : []))),
  ].map((purpose) => inSentence(doc.purposes[purpose]?.label[lang] ?? purpose));
  sections.push({
    id: 'other',
    heading: t.otherHeading,
    paragraphs: [],
    list: [
      // Only processing that rests on consent can have its consent withdrawn.
      ...(consentPurposes.length > 0 ? [t.consentWithdrawal(consentPurposes, company), t.withdrawalEffect] : []),
      // What withdrawing does at each consent-based partner, as its onWithdrawal says the gateway acts.
      ...Object.values(doc.partners).flatMap((p) =>
        p.consent
          ? [
              t.withdrawalAt(
                p.displayName,
                p.consent.onWithdrawal,
                p.sends.map((c) => inSentence(doc.categories[c]?.label[lang] ?? c)),
              ),
            ]
          : [],
      ),
      t.retention(doc.retention.gatewayRecordsAfterRelationshipEnds.years, company),
      t.access(company),
      t.answerWithin(doc.rights.answerWithinMonths),
      t.rectification,
      t.restriction(restrictionBy(doc)),
      t.complaint(doc.controller.supervisoryAuthority[lang]),
    ],
    listKind: 'rules',
    closing: [`${t.contact(doc.controller.contact)} ${t.controller(doc.controller.name)}`],
  });

  return { lang, title: t.title, sections };
}

/** Partners' display names by their restriction behaviour, in policy order. */
function restrictionBy(doc: PolicyDocument): Record<'suppress' | 'archive' | 'keep', string[]> {
  const by = { suppress: [] as string[], archive: [] as string[], keep: [] as string[] };
  for (const p of Object.values(doc.partners)) by[p.restriction].push(p.displayName);
  return by;
}

function renderText(model: NoticeModel): string {
  // The layout of the published original: blocks separated by blank lines, a section's heading on its
  // first line, category bullets with •, the rules of the last section as one paragraph.
  const blocks = [`${model.title}.`];
  for (const s of model.sections) {
    const lines = [s.heading, ...s.paragraphs];
    if (s.listKind === 'categories') lines.push(...s.list.map((item) => `• ${item}`));
    else if (s.list.length > 0) lines.push(s.list.join(' '));
    blocks.push(lines.join('\n'));
    if (s.closing.length > 0) blocks.push(s.closing.join('\n'));
  }
  return `${blocks.join('\n\n')}\n`;
}

function renderMarkdown(model: NoticeModel): string {
  const blocks = [`# ${md(model.title)}`];
  for (const s of model.sections) {
    blocks.push(`## ${md(s.heading)}`, ...s.paragraphs.map(md));
    if (s.list.length > 0) blocks.push(s.list.map((item) => `- ${md(item)}`).join('\n'));
    blocks.push(...s.closing.map(md));
  }
  return `${blocks.join('\n\n')}\n`;
}

function renderHtml(model: NoticeModel): string {
  const out = [
    '<!DOCTYPE html>',
    `<html lang="${model.lang}">`,
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${html(model.title)}</title>`,
    '</head>',
    '<body>',
    '<main>',
    `<h1>${html(model.title)}</h1>`,
  ];
  for (const s of model.sections) {
    out.push(`<section id="${html(s.id.replace(':', '-'))}">`, `<h2>${html(s.heading)}</h2>`);
    out.push(...s.paragraphs.map((p) => `<p>${html(p)}</p>`));
    if (s.list.length > 0) out.push('<ul>', ...s.list.map((item) => `<li>${html(item)}</li>`), '</ul>');
    out.push(...s.closing.map((p) => `<p>${html(p)}</p>`));
    out.push('</section>');
  }
  out.push('</main>', '</body>', '</html>');
  return `${out.join('\n')}\n`;
}

const htmlEntities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function html(s: string): string {
  return s.replace(/[&<>"']/g, (c) => htmlEntities[c] ?? c);
}

/**
 * Policy strings are prose, not Markdown: escape what a renderer would otherwise act on, including raw
 * HTML (a Markdown renderer passes `<script>` through), and a line start that would turn into a list or
 * heading.
 */
function md(s: string): string {
  return s
    .replace(/[\\`*_[\]<>|]/g, '\\$&')
    .replace(/&(?=#?\w+;)/g, '&amp;')
    .replace(/^(\s*)([#+\-=])/gm, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/gm, '$1\\$2');
}
