import { z } from 'zod';

const localized = z.object({ sv: z.string().min(1), en: z.string().min(1) });
const key = z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be lower_snake_case');
/** A record field path the minimiser may copy: a dotted path of plain names. */
const fieldPath = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/, 'must be a dotted field path such as name.given');

export const legalBases = [
  'consent',
  'contract',
  'legal_obligation',
  'vital_interests',
  'public_task',
  'legitimate_interest',
] as const;

const categorySchema = z.strictObject({
  label: localized,
  /** Master-record fields of this category. None: the gateway never sends it (e.g. card details). */
  fields: z.array(fieldPath).default([]),
  /** Camera data never leaves the company: no partner may be allowed it. */
  camera: z.boolean().default(false),
  /**
   * A record the partner's own service makes of how the subject uses it (app usage, call records), as
   * opposed to a data item about the subject. The public notice lists the data items each partner holds
   * and leaves activity a partner collects to that partner's description.
   */
  activity: z.boolean().optional(),
});

const purposeSchema = z.strictObject({
  label: localized,
  legalBasis: z.enum(legalBases),
});

const partnerSchema = z.strictObject({
  displayName: z.string().min(1),
  description: localized,
  purpose: key,
  /**
   * sync: kept in step with the master record. action: used per call (Twilio places a call), nothing
   * kept in step. none: nothing is sent; the partner only collects directly.
   */
  mode: z.enum(['sync', 'action', 'none']),
  /** Categories the gateway sends. */
  sends: z.array(key).default([]),
  /** Categories without which the partner should hold nothing (e.g. a newsletter without email). */
  requires: z.array(key).default([]),
  /** Categories the partner collects directly, never through the gateway. */
  collects: z.array(key).default([]),
  erasure: z.enum(['delete', 'archive']).default('delete'),
  /** Consent-based processing: nothing is sent without a current grant for the purpose. */
  consent: z
    .strictObject({ purpose: key, onWithdrawal: z.enum(['unsubscribe', 'delete']).default('unsubscribe') })
    .optional(),
});

export const policySchema = z
  .strictObject({
    version: z.literal(1),
    controller: z.strictObject({
      /** The legal name (Videquus AB), as the notice names the controller. */
      name: z.string().min(1),
      /** The short name used in the notice's running text (Videquus); the legal name when absent. */
      displayName: z.string().min(1).optional(),
      contact: z.string().min(1),
      hosting: localized,
      supervisoryAuthority: localized,
    }),
    categories: z.record(key, categorySchema),
    purposes: z.record(key, purposeSchema),
    held: z.array(key),
    partners: z.record(key, partnerSchema),
    retention: z.strictObject({
      timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Stockholm'),
      erasureAfterSubscriptionEnds: z.literal('first-month-boundary'),
      gatewayRecordsAfterRelationshipEnds: z.strictObject({ years: z.number().int().min(0).max(10) }),
    }),
  })
  .superRefine((policy, ctx) => {
    const categoryNames = new Set(Object.keys(policy.categories));
    const fieldOwner = new Map<string, string>();
    for (const [name, category] of Object.entries(policy.categories)) {
      if (category.camera && category.fields.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['categories', name, 'fields'],
          message: 'a camera category must not map record fields: camera data never goes through the gateway',
        });
      }
      category.fields.forEach((field, i) => {
        const owner = fieldOwner.get(field);
        if (owner)
          ctx.addIssue({
            code: 'custom',
            path: ['categories', name, 'fields', i],
            message: `field ${field} already belongs to category ${owner}`,
          });
        fieldOwner.set(field, name);
      });
    }
    policy.held.forEach((c, i) => {
      if (!categoryNames.has(c)) ctx.addIssue({ code: 'custom', path: ['held', i], message: `unknown category ${c}` });
    });
    for (const [name, partner] of Object.entries(policy.partners)) {
      const at = (...rest: (string | number)[]) => ['partners', name, ...rest];
      if (!policy.purposes[partner.purpose])
        ctx.addIssue({ code: 'custom', path: at('purpose'), message: `unknown purpose ${partner.purpose}` });
      for (const list of ['sends', 'requires', 'collects'] as const) {
        partner[list].forEach((c, i) => {
          const category = policy.categories[c];
          if (!category) ctx.addIssue({ code: 'custom', path: at(list, i), message: `unknown category ${c}` });
          else if (category.camera)
            ctx.addIssue({
              code: 'custom',
              path: at(list, i),
              message: `camera category ${c} must never leave the company`,
            });
          else if (list === 'sends' && category.fields.length === 0)
            ctx.addIssue({
              code: 'custom',
              path: at(list, i),
              message: `category ${c} maps no record fields, so the gateway cannot send it (list it under collects if the partner collects it directly)`,
            });
        });
      }
      partner.requires.forEach((c, i) => {
        if (!partner.sends.includes(c))
          ctx.addIssue({ code: 'custom', path: at('requires', i), message: `required category ${c} is not in sends` });
      });
      if (partner.mode === 'none' && partner.sends.length > 0)
        ctx.addIssue({ code: 'custom', path: at('sends'), message: 'a partner in mode none is sent nothing' });
      if (partner.consent) {
        const purpose = policy.purposes[partner.consent.purpose];
        if (!purpose)
          ctx.addIssue({
            code: 'custom',
            path: at('consent', 'purpose'),
            message: `unknown purpose ${partner.consent.purpose}`,
          });
        else if (purpose.legalBasis !== 'consent')
          ctx.addIssue({
            code: 'custom',
            path: at('consent', 'purpose'),
            message: `purpose ${partner.consent.purpose} has legal basis ${purpose.legalBasis}, not consent`,
          });
      } else if (policy.purposes[partner.purpose]?.legalBasis === 'consent') {
        ctx.addIssue({
          code: 'custom',
          path: at('consent'),
          message: `purpose ${partner.purpose} rests on consent, so the partner needs a consent section`,
        });
      }
    }
  });

export type PolicyDocument = z.infer<typeof policySchema>;
export type PartnerPolicy = PolicyDocument['partners'][string];
export type CategoryPolicy = PolicyDocument['categories'][string];
export type LegalBasis = (typeof legalBases)[number];

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
