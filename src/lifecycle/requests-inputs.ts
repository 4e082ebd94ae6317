import { z } from 'zod';
import { LifecycleInputError } from './inputs.ts';
import { requestKinds, requestOutcomes, type RequestKind, type RequestOutcome } from './types.ts';

/**
 * Validation of what callers hand the request register. As elsewhere in the lifecycle, a message names
 * the argument and the rule, never the value: a channel or reference typed in the wrong place may be
 * an email address.
 */

/** 'letter', 'email', 'web-form', 'signed-letter', 'bankid': a kind of channel or method, not a story. */
const word = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/);
/** Where the letter, ticket or verification record is kept: no spaces, no '@' (see consent evidence). */
const reference = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/#-]{0,127}$/);
const requestId = z.string().regex(/^[1-9][0-9]{0,17}$/);
/** Free text told to the requester (Art. 12(3)), kept in the register row only, never in the log. */
const reason = z.string().trim().min(1).max(500);

function check<T>(schema: z.ZodType<T>, value: unknown, what: string, rule: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new LifecycleInputError(`${what} ${rule}`);
  return result.data;
}

const wordRule = (examples: string) => `must be a lower-case word such as ${examples}`;
const referenceRule =
  'must be a reference (a letter or ticket number, up to 128 characters, no spaces or @), never the document itself';

export const requestInputs = {
  id: (v: unknown) => check(requestId, v, 'request id', 'must be the number the register gave the request'),
  kind: (v: unknown): RequestKind =>
    check(z.enum(requestKinds), v, 'request kind', `must be one of ${requestKinds.join(', ')}`),
  outcome: (v: unknown): RequestOutcome =>
    check(z.enum(requestOutcomes), v, 'request outcome', `must be one of ${requestOutcomes.join(', ')}`),
  channel: (v: unknown, what: string) => check(word, v, what, wordRule("'letter', 'email' or 'web-form'")),
  method: (v: unknown) => check(word, v, 'verification method', wordRule("'signed-letter', 'bankid' or 'id-document'")),
  reference: (v: unknown, what: string) => (v === undefined ? null : check(reference, v, what, referenceRule)),
  reason: (v: unknown) => check(reason, v, 'extension reason', 'must be 1-500 characters'),
  months: (v: unknown, max: number) =>
    check(
      z.number().int().min(1).max(Math.max(1, max)),
      v,
      'extension',
      `must be a whole number of months, 1 to ${max} (GDPR Art. 12(3) allows two further months at most)`,
    ),
  /** A time given by the caller: a valid Date, not in the future (a minute of clock skew allowed). */
  at: (v: unknown, what: string, now: Date): Date => {
    if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw new LifecycleInputError(`${what} must be a date`);
    if (v.getTime() > now.getTime() + 60_000) throw new LifecycleInputError(`${what} must not be in the future`);
    return v;
  },
};
