import type { MasterRecordInput } from '../record.ts';
import { canaryFields } from './records.ts';

/** Where a personal value showed up: the subject and the field, never the value itself. */
export interface CanaryHit {
  readonly subjectId: string;
  readonly field: string;
}

export interface CanaryOptions {
  /**
   * Default true: a value that leaked lowercased (an email a partner normalised, a log that folds
   * case) leaked all the same.
   */
  readonly ignoreCase?: boolean;
}

/** Every personal value of the records that appears in the text. */
export function findCanaries(
  text: string,
  records: readonly MasterRecordInput[],
  { ignoreCase = true }: CanaryOptions = {},
): CanaryHit[] {
  const haystack = ignoreCase ? text.toLowerCase() : text;
  return records.flatMap((record) =>
    canaryFields(record)
      .filter(({ value }) => haystack.includes(ignoreCase ? value.toLowerCase() : value))
      .map(({ field }) => ({ subjectId: String(record.id), field })),
  );
}

/**
 * Throws when the text carries a personal value of any record. `where` names the text in the message
 * (e.g. 'the transfer log'); the message lists subject ids and field names, so it is safe to print.
 */
export function assertNoCanaries(
  text: string,
  records: readonly MasterRecordInput[],
  where = 'the text',
  options: CanaryOptions = {},
): void {
  const hits = findCanaries(text, records, options);
  if (hits.length === 0) return;
  const listed = hits.map((hit) => `${hit.subjectId} ${hit.field}`).join(', ');
  throw new Error(`personal values leaked into ${where}: ${listed}`);
}
