import { z } from 'zod';

/**
 * Validation of what callers hand the lifecycle API. Error messages name the argument and the rule,
 * never the value: a caller who mixed up arguments may have passed personal data where an id belongs.
 */

export class LifecycleInputError extends Error {
  override readonly name = 'LifecycleInputError';
}

const subjectId = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/);
/** 'web-form', 'written-notice', 'support-ticket': a kind of channel, not a free-text story. */
const source = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/);
/**
 * A reference to where the evidence is kept (a document id, a ticket number, a URL path): no spaces
 * and no '@', so neither an email address nor a sentence about the person can be stored as "evidence".
 */
const evidence = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/#-]{0,127}$/);
/** Free text kept in the subjects row and the tombstone (never in the log), so only bounded. */
const reason = z.string().trim().min(1).max(500);
const operator = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\u0000-\u001f]*$/);

function check<T>(schema: z.ZodType<T>, value: unknown, what: string, rule: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new LifecycleInputError(`${what} ${rule}`);
  return result.data;
}

export const inputs = {
  subjectId: (v: unknown) => check(subjectId, v, 'subject id', 'must be 1-128 characters of letters, digits, _ . : -'),
  source: (v: unknown) =>
    check(source, v, 'consent source', "must be a lower-case channel name such as 'web-form' or 'written-notice'"),
  evidence: (v: unknown) =>
    v === undefined
      ? null
      : check(
          evidence,
          v,
          'consent evidence',
          'must be a reference (a document id or ticket number, up to 128 characters, no spaces or @), never the document itself',
        ),
  reason: (v: unknown, what: string) => check(reason, v, what, 'must be 1-500 characters'),
  operator: (v: unknown) =>
    v === undefined ? undefined : check(operator, v, 'operator', 'must be 1-100 characters without control characters'),
};
