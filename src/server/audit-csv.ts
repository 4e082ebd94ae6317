/** The transfer log as CSV (audit export): the same columns from the CLI and the ops server. */
import type { TransferRow } from '../index.ts';

export const CSV_COLUMNS = [
  'seq',
  'at',
  'kind',
  'intentSeq',
  'subjectId',
  'partner',
  'operation',
  'purpose',
  'legalBasis',
  'trigger',
  'operator',
  'correlationId',
  'fields',
  'categories',
  'payloadDigest',
  'partnerId',
  'outcome',
  'httpStatus',
  'errorCode',
  'attempt',
  'durationMs',
  'policyDigest',
  'sealed',
] as const satisfies readonly (keyof TransferRow)[];

export const csvHeader = `${CSV_COLUMNS.join(',')}\n`;

export function csvRow(row: TransferRow): string {
  return `${CSV_COLUMNS.map((column) => csvCell(row[column])).join(',')}\n`;
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = value instanceof Date ? value.toISOString() : Array.isArray(value) ? value.join(';') : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Every row matching the filter, a page at a time (seq is a bigint, sent as text). */
export async function* allRows(
  list: (filter: { afterSeq?: string; limit: number }) => Promise<TransferRow[]>,
  page = 1_000,
): AsyncGenerator<TransferRow[]> {
  let after: string | undefined;
  for (;;) {
    const rows = await list({ ...(after ? { afterSeq: after } : {}), limit: page });
    if (rows.length > 0) yield rows;
    if (rows.length < page) return;
    after = rows.reduce((max, r) => (BigInt(r.seq) > BigInt(max) ? r.seq : max), rows[0]!.seq);
  }
}
