import { z } from 'zod';

/**
 * The master record: what the host hands the gateway for one subject. The host owns it; the gateway
 * only projects it (see minimise.ts). Anything not described here is dropped before a partner could
 * see it, and a record that does not parse never reaches a partner.
 */

/**
 * Control characters (NUL, CR/LF, escapes) have no place in a name or an address, and partners treat
 * them as line breaks, terminators or injection: refused rather than sent.
 */
const noControl = /^[^\u0000-\u001f\u007f]*$/;
const nonBlank = z.string().trim().min(1, 'must not be blank').regex(noControl, 'must not contain control characters');

/** Partner ids the host knows (an Auth0 user id, balena device ids): id-shaped, never an email or free text. */
const hostPartnerId = z
  .string()
  .regex(/^[A-Za-z0-9_.:|-]{1,128}$/, 'must be 1-128 characters of letters, digits, _ . : | -');
const partnerName = /^[a-z][a-z0-9_-]{0,31}$/;

export const addressSchema = z.object({
  street: nonBlank.max(200),
  postalCode: nonBlank.max(20),
  city: nonBlank.max(100),
  /** ISO 3166-1 alpha-2, e.g. SE. */
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as SE'),
});

export const deviceSchema = z.object({
  /** The host's own device id. */
  id: nonBlank,
});

export const subscriptionSchema = z
  .object({
    start: z.coerce.date(),
    /** When the subscription ended (or will end). Absent while it runs. */
    end: z.coerce.date().nullish(),
  })
  .refine((s) => !s.end || s.end.getTime() >= s.start.getTime(), {
    message: 'end must not be before start',
    path: ['end'],
  });

export const masterRecordSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1-128 characters of letters, digits, _ . : -'),
  name: z.object({ given: nonBlank.max(100), family: nonBlank.max(100) }).optional(),
  address: addressSchema.optional(),
  /** E.164, e.g. +46701234567. */
  phone: z
    .string()
    .regex(/^\+[1-9][0-9]{6,14}$/, 'must be in E.164 form, e.g. +46701234567')
    .optional(),
  // Internationalised addresses (RFC 6531) are addresses too.
  email: z.email({ pattern: z.regexes.unicodeEmail, message: 'must be an email address' }).max(254).optional(),
  devices: z.array(deviceSchema).default([]),
  subscription: subscriptionSchema.optional(),
  /**
   * Ids that partners gave the host directly and the host already knows, per partner name:
   * e.g. `{ auth0: 'auth0|abc', resin: ['1234', '5678'] }` (balena device ids).
   */
  partnerIds: z
    .record(
      z.string().regex(partnerName, 'must be a partner name'),
      z.union([hostPartnerId, z.array(hostPartnerId).max(100, 'must name at most 100 ids')]),
    )
    .refine((ids) => Object.keys(ids).length <= 32, 'must name at most 32 partners')
    .default({}),
});

export type MasterRecord = z.infer<typeof masterRecordSchema>;
export type MasterRecordInput = z.input<typeof masterRecordSchema>;
export type Address = z.infer<typeof addressSchema>;

export class InvalidRecordError extends Error {
  override readonly name = 'InvalidRecordError';
  readonly subjectId: string | undefined;
  /** One entry per problem: the field's path and what is wrong. Never the field's value. */
  readonly problems: readonly { path: string; message: string }[];

  constructor(subjectId: string | undefined, problems: readonly { path: string; message: string }[]) {
    super(
      `invalid master record${subjectId ? ` for subject ${subjectId}` : ''}: ` +
        problems.map((p) => `${p.path || '(record)'}: ${p.message}`).join('; '),
    );
    this.subjectId = subjectId;
    this.problems = problems;
  }
}

/**
 * Parses what the host handed in. The error names each bad field and what is wrong with it, and
 * never echoes the value (it may be personal data).
 */
export function parseMasterRecord(input: unknown): MasterRecord {
  let own: unknown;
  try {
    own = ownData(input, 0);
  } catch (error) {
    throw new InvalidRecordError(undefined, [
      { path: '', message: `could not be read (${error instanceof Error ? error.name : typeof error})` },
    ]);
  }
  const result = masterRecordSchema.safeParse(own);
  if (result.success) return result.data;
  const id =
    typeof input === 'object' && input !== null && typeof (input as { id?: unknown }).id === 'string'
      ? safeId((input as { id: string }).id)
      : undefined;
  throw new InvalidRecordError(
    id,
    result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
  );
}

/**
 * The record's personal fields, by top-level name. A value of one of these that does not parse
 * concerns only the partners that are sent it; every other part of the record (id, devices,
 * subscription, partner ids) decides erasure and reach for every partner, so a bad one blocks all.
 */
const PERSONAL_FIELDS: ReadonlySet<string> = new Set(['name', 'address', 'phone', 'email']);

export interface LenientRecord {
  /** The record without the personal fields that did not parse. */
  readonly record: MasterRecord;
  /** Why those fields were left out (names them, never their values); null when the record is whole. */
  readonly invalid: InvalidRecordError | null;
  /** The top-level personal fields left out: partners sent any of them are blocked. */
  readonly dropped: readonly string[];
}

/**
 * Like parseMasterRecord, but a record whose only problems are in personal fields parses without
 * them, so a bad email blocks the partners that get the email and no others. Throws like
 * parseMasterRecord for anything else.
 */
export function parseMasterRecordLeniently(input: unknown): LenientRecord {
  try {
    return { record: parseMasterRecord(input), invalid: null, dropped: [] };
  } catch (error) {
    if (!(error instanceof InvalidRecordError)) throw error;
    const dropped = [...new Set(error.problems.map((p) => p.path.split('.')[0] ?? ''))];
    if (!dropped.every((field) => PERSONAL_FIELDS.has(field))) throw error;
    const own = ownData(input, 0) as Record<string, unknown>;
    for (const field of dropped) delete own[field];
    const result = masterRecordSchema.safeParse(own);
    if (!result.success) throw error;
    return { record: result.data, invalid: error, dropped };
  }
}

/**
 * The record's own data only: own enumerable properties of plain objects and arrays, copied, so a
 * property set on Object.prototype elsewhere in the process (a `phone` on every object) is never read
 * as the subject's, and a getter runs once, here, where its failure is caught.
 */
function ownData(value: unknown, depth: number): unknown {
  if (depth > 8) throw new RangeError('nested too deeply');
  if (Array.isArray(value)) return value.map((v) => ownData(v, depth + 1));
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  const out: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(value)) out[key] = ownData((value as Record<string, unknown>)[key], depth + 1);
  return out;
}

/** A subject id goes into logs; only echo it when it has the shape of an id, not of free text. */
function safeId(id: string): string | undefined {
  return /^[A-Za-z0-9_.:-]{1,128}$/.test(id) ? id : undefined;
}
