import type { Block, ReportDocument } from './access-report-document.ts';

/** Markdown for the report document. Every string is escaped: names and reasons are data, not markup. */
export function renderMarkdown(doc: ReportDocument): string {
  return `${doc.blocks.map(block).join('\n\n')}\n`;
}

function block(b: Block): string {
  switch (b.kind) {
    case 'heading':
      return `${'#'.repeat(b.level)} ${inline(b.text)}`;
    case 'paragraph':
      return inline(b.text);
    case 'facts':
      return b.rows.map(([k, v]) => `- **${inline(k)}:** ${inline(v, false)}`).join('\n');
    case 'list':
      return b.items.map((item) => `- ${inline(item)}`).join('\n');
    case 'table':
      return [row(b.head), `|${' --- |'.repeat(b.head.length)}`, ...b.rows.map(row)].join('\n');
  }
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => inline(c, false)).join(' | ')} |`;
}

/**
 * One line of literal text: inline markup characters are backslash-escaped, '&' and '<' become
 * entities (so no HTML or entity passes through a Markdown-to-HTML step), line breaks become spaces
 * (a newline would end a table row or start a block), and a leading block marker is escaped. With
 * '[' and ']' escaped no link can form, so parentheses and '!' need nothing. Inside a table cell or
 * after a label (`lineStart` false) nothing can open a block, so "192.168.1.23" stays as it is.
 */
export function inline(text: string, lineStart = true): string {
  const escaped = text
    .replace(/[\r\n\u2028\u2029]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`);
  if (!lineStart) return escaped;
  return escaped.replace(
    /^(\s*)(#|[-+=]|\d+[.)])/,
    (_m, space: string, marker: string) => `${space}${marker.slice(0, -1)}\\${marker.slice(-1)}`,
  );
}
