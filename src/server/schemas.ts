/**
 * The JSON API's inputs, as zod schemas: fastify-type-provider-zod validates requests with them and
 * turns them into the OpenAPI document. Messages name the field and the rule, never the value sent
 * (an email typed where a subject id belongs must not come back in an error or a log line).
 */
import { erasureResolutions } from '../lifecycle/index.ts';
import { z } from 'zod';
import { checkpointSchema } from '../log/checkpoint.ts';

export const subjectIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, {
    error: 'must be a subject id: 1-128 characters of letters, digits, _ . : - (the master record id)',
  })
  .describe('The master record id of the data subject');

export const partnerSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, { error: 'must be a partner name from the policy, e.g. stripe' })
  .describe('A partner name from the policy');

const text = (what: string, max: number) =>
  z
    .string()
    .trim()
    .min(1, { error: `${what} must not be blank` })
    .max(max, { error: `${what} must be at most ${max} characters` });

export const subjectParams = z.object({ subject: subjectIdSchema });

export const reasonBody = z.strictObject({
  reason: text('reason', 500).describe('Why (e.g. the request ticket); kept with the subject, never in the log'),
});

export const erasurePartnerParams = z.object({
  subject: subjectIdSchema,
  partner: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,39}$/)
    .describe('A partner of the policy'),
});

export const resolutionBody = z.strictObject({
  resolution: z
    .enum(erasureResolutions)
    .describe(
      "What the operator found at the partner: none-found, deleted-manually (they deleted it there), kept-for-other-subject (a shared record is the other subject's)",
    ),
});

export const consentParams = z.object({
  subject: subjectIdSchema,
  verb: z.enum(['grant', 'withdraw']).describe('grant or withdraw'),
});

export const consentBody = z.strictObject({
  purpose: text('purpose', 64).describe('A consent-based purpose in the policy, e.g. marketing'),
  source: text('source', 64).describe("Where it came from: 'web-form', 'written-notice', 'support-ticket'..."),
  evidence: text('evidence', 128)
    .optional()
    .describe('A reference to the evidence (document id, ticket number), never the document itself'),
});

export const accessQuery = z.object({
  format: z.enum(['json', 'md', 'html']).default('json'),
  lang: z.enum(['sv', 'en']).default('sv'),
  live: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe('Also ask each partner what it holds now'),
});

export const deadLettersQuery = z.object({ partner: partnerSchema.optional() });

export const retryBody = z.strictObject({
  partner: partnerSchema,
  ids: z
    .array(text('id', 64))
    .min(1)
    .max(10_000)
    .optional()
    .describe("Only these dead letters (default: all of the partner's)"),
});

export const resyncBody = z.strictObject({
  dryRun: z.boolean().default(false).describe('Count what would happen per partner; call nobody, enqueue nothing'),
  partners: z.array(partnerSchema).min(1).optional().describe('Only these partners (default: all)'),
  subjects: z.array(subjectIdSchema).min(1).max(100_000).optional().describe('Only these subjects (default: all)'),
  force: z.boolean().default(false).describe('Send even where the digest says the partner is in step'),
  allowMassDeletion: z
    .boolean()
    .default(false)
    .describe(
      'Go on although the resync would delete (or note missing) more subjects than the deletion limit allows; logged with the operator',
    ),
});

export const driftBody = z.strictObject({
  subjects: z
    .array(subjectIdSchema)
    .min(1)
    .max(10_000)
    .optional()
    .describe('Check these subjects (default: a random sample of what partners hold)'),
  partner: partnerSchema.optional().describe('Only this partner'),
  sample: z
    .int()
    .min(1)
    .max(100_000)
    .default(100)
    .describe('Without subjects: how many (subject, partner) pairs to check, picked at random'),
  repair: z
    .boolean()
    .default(false)
    .describe('Re-create at the partner what it lost (forced reconciles); needs the operator role'),
});

const isoTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/, {
    error: 'must be an ISO 8601 date or time, e.g. 2026-03-01 or 2026-03-01T12:00:00Z',
  })
  .transform((v) => new Date(v))
  .refine((d) => !Number.isNaN(d.getTime()), { error: 'must be a valid date' });

const seq = z.string().regex(/^\d{1,19}$/, { error: 'must be a log sequence number' });

export const auditQuery = z.object({
  subject: subjectIdSchema.optional(),
  partner: partnerSchema.optional(),
  since: isoTime.optional().describe('Rows at or after this time'),
  after: seq.optional().describe('Rows after this sequence number (paging)'),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

export const auditExportQuery = z.object({
  format: z.enum(['jsonl', 'csv']).default('jsonl'),
  subject: subjectIdSchema.optional(),
  partner: partnerSchema.optional(),
  since: isoTime.optional(),
});

/** Checkpoints taken earlier (audit checkpoint), each with where it came from for the problems verify names. */
export const auditVerifyBody = z.object({
  against: z
    .array(z.object({ checkpoint: checkpointSchema, where: z.string().min(1).max(300) }))
    .min(1)
    .max(100_000),
});

/** Responses are documented, not re-validated: they are the gateway's own types, serialised as JSON. */
export const anyJson = (description: string) => z.unknown().describe(description);

export const errorResponse = z
  .object({ error: z.string(), statusCode: z.number() })
  .describe('What is wrong, naming the field or rule; never a value that was sent');
