import type { Policy } from '../policy/index.ts';
import { reportDocument } from './access-report-document.ts';
import { renderHtml } from './access-report-html.ts';
import { renderMarkdown } from './access-report-markdown.ts';
import type { AccessReportLang } from './access-report-text.ts';
import type { AccessReport } from './types.ts';

export type { AccessReportLang } from './access-report-text.ts';
export type AccessReportFormat = 'json' | 'md' | 'html';

/**
 * The access report as a document for the subject: JSON (the report as is, times in ISO 8601 UTC),
 * or Markdown / HTML in Swedish or English with the policy's own labels.
 */
export function renderAccessReport(
  report: AccessReport,
  policy: Policy,
  options: { format: AccessReportFormat; lang?: AccessReportLang },
): string {
  if (options.format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  const doc = reportDocument(report, policy, options.lang ?? 'sv');
  return options.format === 'md' ? renderMarkdown(doc) : renderHtml(doc);
}
