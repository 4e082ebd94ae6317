import { z } from 'zod';
import { fieldPathProblem } from './record-fields.ts';

/** Text the notice and the access report show, in each language they are rendered in. */
const localized = z.strictObject({ sv: z.string().trim().min(1), en: z.string().trim().min(1) });

/**
 * Names every JavaScript object answers to (constructor, toString, __proto__...): as a policy key one
 * would be "found" on Object.prototype by a plain lookup, so `purpose: constructor` passed as a known
 * purpose. No such name can be a key.
 */
export function isReservedName(name: string): boolean {
  return name in Object.prototype || name === '__proto__' || name === 'prototype';
}

const key = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'must be lower_snake_case')
  .superRefine((k, ctx) => {
    if (isReservedName(k))
      ctx.addIssue({
        code: 'custom',
        message: `${k} is a reserved name (every JavaScript object has a property of that name)`,
      });
  });

/** A record field path the minimiser may copy: a dotted path of plain names, of a field the record has. */
const fieldPath = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/, 'must be a dotted field path such as name.given')
  .superRefine((path, ctx) => {
    const problem = fieldPathProblem(path);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A field path in a partner's own answer (e.g. Mailchimp `ip_signup`, balena `public_address`). */
const partnerFieldPath = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'must be a dotted field path such as ip_signup')
  .refine((p) => !p.split('.').some(isReservedName), 'names a reserved name');

export const legalBases = [
  'consent',
  'contract',
  'legal_obligation',
  'vital_interests',
  'public_task',
  'legitimate_interest',
] as const;

export const restrictionModes = ['suppress', 'archive', 'keep'] as const;

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
  /**
   * For legalBasis legitimate_interest: the interest pursued, as the notice states it (GDPR Art.
   * 13(1)(d)). Required there, refused elsewhere.
   */
  legitimateInterest: localized.optional(),
});

/**
 * Where the partner processes the data, as the notice must say (GDPR Art. 13(1)(f)): inside the
 * EU/EEA, or in which third country and under which safeguard.
 */
const transferSchema = z.discriminatedUnion('outsideEea', [
  z.strictObject({ outsideEea: z.literal(false) }),
  z.strictObject({
    outsideEea: z.literal(true),
    /** The country, as it reads in running text: "USA" / "the United States". */
    country: localized,
    /** What the transfer rests on (an adequacy decision, standard contractual clauses...). */
    safeguard: localized,
  }),
]);

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
  /**
   * What a restriction of processing (GDPR Art. 18) does at the partner, which Art. 19 requires to be
   * told: suppress (a consent-based partner stops processing: Mailchimp unsubscribes the member while
   * restricted and the consented status comes back on unrestrict), archive (the partner's own
   * restriction mechanism: Intercom archives the contact and unarchives it on unrestrict), keep (the
   * partner has no restriction mechanism: it keeps what it holds, is sent nothing new, and the
   * notification is logged as such).
   */
  restriction: z.enum(restrictionModes).default('keep'),
  transfer: transferSchema,
  /**
   * What the partner keeps after an erasure whatever we ask (Twilio: the called number for 120 days),
   * one statement each: the notice and the access report say it.
   */
  keepsAfterErasure: z.array(localized).default([]),
  /** The one-off actions an action partner carries out, by name ('alarm'), with how they read. */
  actions: z.record(key, z.strictObject({ label: localized })).default({}),
  /**
   * The partner's own names for what it holds, for access reports: a field path of the partner's
   * answer (or its first segments) -> the category it is. Fields named after record fields or
   * categories need no entry; anything else the partner returns is shown as not covered by the policy.
   */
  partnerFields: z.record(partnerFieldPath, key).default({}),
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
      /** Where complaints go (GDPR Art. 77), with its address: in Sweden IMY. */
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
    /** How the data subject's requests are made and answered (GDPR Art. 12). */
    rights: z.strictObject({
      /** How to make a request, as the notice and the access report say it. */
      howToRequest: localized,
      /** Art. 12(3): one month from receipt, extendable by at most two further months. */
      answerWithinMonths: z.literal(1),
      maxExtensionMonths: z.number().int().min(0).max(2),
    }),
  })
  .superRefine((policy, ctx) => {
    // Own properties only: a plain lookup would find `constructor` on Object.prototype.
    const category = (c: string) => own(policy.categories, c);
    const purposeOf = (p: string) => own(policy.purposes, p);
    const fieldOwner = new Map<string, string>();
    for (const [name, c] of Object.entries(policy.categories)) {
      if (c.camera && c.fields.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['categories', name, 'fields'],
          message: 'a camera category must not map record fields: camera data never goes through the gateway',
        });
      }
      c.fields.forEach((field, i) => {
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
    for (const [name, purpose] of Object.entries(policy.purposes)) {
      const interest = purpose.legalBasis === 'legitimate_interest';
      if (interest && !purpose.legitimateInterest)
        ctx.addIssue({
          code: 'custom',
          path: ['purposes', name, 'legalBasis'],
          message: 'a purpose resting on legitimate_interest must state the interest (legitimateInterest, sv and en)',
        });
      if (!interest && purpose.legitimateInterest)
        ctx.addIssue({
          code: 'custom',
          path: ['purposes', name, 'legitimateInterest'],
          message: `legitimateInterest belongs only to a purpose resting on legitimate_interest, not ${purpose.legalBasis}`,
        });
    }
    policy.held.forEach((c, i) => {
      if (!category(c) && !isReservedName(c))
        ctx.addIssue({ code: 'custom', path: ['held', i], message: `unknown category ${c}` });
    });
    for (const [name, partner] of Object.entries(policy.partners)) {
      const at = (...rest: (string | number)[]) => ['partners', name, ...rest];
      if (!purposeOf(partner.purpose) && !isReservedName(partner.purpose))
        ctx.addIssue({ code: 'custom', path: at('purpose'), message: `unknown purpose ${partner.purpose}` });
      for (const list of ['sends', 'requires', 'collects'] as const) {
        partner[list].forEach((c, i) => {
          const found = category(c);
          if (!found) {
            if (!isReservedName(c))
              ctx.addIssue({ code: 'custom', path: at(list, i), message: `unknown category ${c}` });
          } else if (found.camera)
            ctx.addIssue({
              code: 'custom',
              path: at(list, i),
              message: `camera category ${c} must never leave the company`,
            });
          else if (list === 'sends' && found.fields.length === 0)
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
      if (partner.restriction === 'suppress' && !partner.consent)
        ctx.addIssue({
          code: 'custom',
          path: at('restriction'),
          message:
            'restriction suppress needs a consent section: only processing that rests on consent can be suppressed',
        });
      if (partner.restriction === 'archive' && partner.mode !== 'sync')
        ctx.addIssue({
          code: 'custom',
          path: at('restriction'),
          message: `restriction archive needs mode sync: a partner in mode ${partner.mode} holds no record the gateway made`,
        });
      if (partner.mode !== 'action' && Object.keys(partner.actions).length > 0)
        ctx.addIssue({ code: 'custom', path: at('actions'), message: 'only a partner in mode action has actions' });
      const holds = new Set([...partner.sends, ...partner.collects]);
      for (const [field, c] of Object.entries(partner.partnerFields)) {
        if (!holds.has(c))
          ctx.addIssue({
            code: 'custom',
            path: at('partnerFields', field),
            message: `category ${c} is neither sent to nor collected by ${name}: list it under sends or collects first`,
          });
      }
      if (partner.consent) {
        const purpose = purposeOf(partner.consent.purpose);
        if (!purpose) {
          if (!isReservedName(partner.consent.purpose))
            ctx.addIssue({
              code: 'custom',
              path: at('consent', 'purpose'),
              message: `unknown purpose ${partner.consent.purpose}`,
            });
        } else if (purpose.legalBasis !== 'consent')
          ctx.addIssue({
            code: 'custom',
            path: at('consent', 'purpose'),
            message: `purpose ${partner.consent.purpose} has legal basis ${purpose.legalBasis}, not consent`,
          });
      } else if (purposeOf(partner.purpose)?.legalBasis === 'consent') {
        ctx.addIssue({
          code: 'custom',
          path: at('consent'),
          message: `purpose ${partner.purpose} rests on consent, so the partner needs a consent section`,
        });
      }
    }
  });

/** A record's own entry, never one inherited from Object.prototype. */
export function own<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

export type PolicyDocument = z.infer<typeof policySchema>;
export type PartnerPolicy = PolicyDocument['partners'][string];
export type CategoryPolicy = PolicyDocument['categories'][string];
export type LegalBasis = (typeof legalBases)[number];
export type PolicyDocumentInput = z.input<typeof policySchema>;
export type PartnerTransfer = PartnerPolicy['transfer'];
export type RestrictionMode = (typeof restrictionModes)[number];

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
