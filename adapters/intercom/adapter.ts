import { z } from 'zod';
import {
  parseResetTime,
  parseRetryAfter,
  type CallContext,
  type HeldData,
  type PartnerAdapter,
  type PartnerPayload,
  type SubjectRef,
  type UpsertInput,
} from '../../src/adapter.ts';
import { gatewayErrors } from '../common/errors.ts';
import { requestsPerSecond } from '../common/limits.ts';
import { boundedFields, flatFields } from '../common/results.ts';
import { createRestClient, isSuccess, type RestAnswer, type RestClient } from '../common/rest-client.ts';

export const INTERCOM_BASE_URL = 'https://api.intercom.io';
export const INTERCOM_EU_BASE_URL = 'https://api.eu.intercom.io';
export const INTERCOM_AU_BASE_URL = 'https://api.au.intercom.io';
export const INTERCOM_API_VERSION = '2.14';

export interface IntercomOptions {
  readonly accessToken: string;
  /** Default https://api.intercom.io; the EU and AU workspaces live at INTERCOM_EU_BASE_URL / _AU_. */
  readonly baseUrl?: string;
  readonly timeoutMs?: number;
  /** Requests per second to keep to. Default 166, Intercom's 10,000 a minute per app. */
  readonly requestsPerSecond?: number;
}

const PARTNER = 'intercom';
const fail = gatewayErrors(PARTNER);

/**
 * Intercom's contact ids are short alphanumeric strings (24 hex digits in practice): anything else
 * (`..`, a slash, a megabyte) is not an id and never goes into a path.
 */
export const INTERCOM_CONTACT_ID = /^[A-Za-z0-9]{1,64}$/;
const contactId = z.string().regex(INTERCOM_CONTACT_ID);
const contactSchema = z.object({ id: contactId });
// 2.13+ answers the contact itself; older versions wrapped matches in a list.
const foundSchema = z.union([contactSchema, z.object({ data: z.array(contactSchema) })]);
/** What Intercom records about the contact's use of the Messenger and the app (2.14 contact schema). */
const ACTIVITY_FIELDS = [
  'signed_up_at',
  'last_seen_at',
  'last_replied_at',
  'last_contacted_at',
  'last_email_opened_at',
  'last_email_clicked_at',
  'language_override',
  'browser',
  'browser_version',
  'browser_language',
  'os',
  'android_app_name',
  'android_app_version',
  'android_device',
  'android_os_version',
  'android_sdk_version',
  'android_last_seen_at',
  'ios_app_name',
  'ios_app_version',
  'ios_device',
  'ios_os_version',
  'ios_sdk_version',
  'ios_last_seen_at',
] as const;
const heldSchema = z
  .object({
    id: contactId,
    name: z.string().nullish(),
    email: z.string().nullish(),
    phone: z.string().nullish(),
    // The rest is what Intercom records itself or the workspace defines: read as answered, bounded when held.
    location: z.unknown().optional(),
    custom_attributes: z.unknown().optional(),
    avatar: z.unknown().optional(),
    social_profiles: z.unknown().optional(),
  })
  .catchall(z.unknown());
// contact_archived / contact_unarchived: the reference and the flag.
const archivedSchema = z.object({ id: contactId, archived: z.boolean() });
const errorListSchema = z.object({ errors: z.array(z.object({ code: z.string() })).min(1) });

export function createIntercomAdapter(options: IntercomOptions): PartnerAdapter {
  if (!options.accessToken) throw new Error('intercom: accessToken is required');
  const http = createRestClient({
    partner: PARTNER,
    baseUrl: options.baseUrl ?? INTERCOM_BASE_URL,
    headers: { Authorization: `Bearer ${options.accessToken}`, 'Intercom-Version': INTERCOM_API_VERSION },
    timeoutMs: options.timeoutMs,
    errorCode: (answer) => errorListSchema.safeParse(answer.data).data?.errors[0]?.code,
    retryAfterMs,
  });
  const parse = answerParser(http);

  const contactPath = (id: string) => `/contacts/${encodeURIComponent(id)}`;

  async function findId(operation: string, pseudonym: string, ctx: CallContext): Promise<string | undefined> {
    const res = await http.send(
      operation,
      { method: 'GET', url: `/contacts/find_by_external_id/${encodeURIComponent(pseudonym)}` },
      ctx,
    );
    if (res.status === 404) return undefined;
    const found = parse(operation, res, foundSchema);
    return 'data' in found ? found.data[0]?.id : found.id;
  }

  /** False when the contact is gone at Intercom (someone deleted it there). */
  async function update(id: string, fields: Record<string, string | null>, ctx: CallContext): Promise<boolean> {
    const res = await http.send('upsert', { method: 'PUT', url: contactPath(id), data: fields }, ctx);
    if (res.status === 404) return false;
    parse('upsert', res, contactSchema);
    return true;
  }

  /** The subject's contacts: the ids we hold, or the one made under the pseudonym. */
  async function contactIds(operation: string, ref: SubjectRef, ctx: CallContext): Promise<string[]> {
    if (ref.partnerIds.length > 0) return ref.partnerIds.filter((id) => INTERCOM_CONTACT_ID.test(id));
    const id = await findId(operation, ref.pseudonym, ctx);
    return id ? [id] : [];
  }

  /** POST /contacts/{id}/archive or /unarchive for each of the subject's contacts; 404: already gone. */
  async function archive(operation: string, verb: 'archive' | 'unarchive', ref: SubjectRef, ctx: CallContext) {
    const ids = await contactIds(operation, ref, ctx);
    for (const id of ids) {
      const res = await http.send(operation, { method: 'POST', url: `${contactPath(id)}/${verb}` }, ctx);
      if (res.status !== 404) parse(operation, res, archivedSchema);
    }
    return { partnerIds: ids };
  }

  return {
    partner: PARTNER,
    // external_id, rewritten by every update (a key rotation updates every contact).
    pseudonymUse: 'attribute',
    // 10,000 calls a minute per app, counted in 10-second windows: a steady rate never trips a window,
    // and arrival jitter cannot either (no headroom needed below the limit).
    limits: { perSecond: requestsPerSecond(PARTNER, options.requestsPerSecond, Math.floor(10_000 / 60)), headroom: 0 },
    retainedAfterErasure: [
      'A deleted contact can be restored by Intercom for 7 days, then it is permanently destroyed.',
      "Conversations with the subject are kept according to the workspace's conversation retention settings, not by deleting the contact.",
      'An archived contact is kept in full until it is deleted.',
    ],

    async upsert({ payload, ref, cleared }, ctx) {
      const fields = contactFields(payload, ref.pseudonym);
      // Only an update clears: a new contact (POST) holds nothing to clear.
      const updateFields = { ...fields, ...clearedFields(payload, cleared) };
      const known = ref.partnerIds[0];
      if (known !== undefined && (await update(known, updateFields, ctx))) return { partnerId: known, created: false };

      const res = await http.send(
        'upsert',
        { method: 'POST', url: '/contacts', data: { role: 'user', ...fields } },
        ctx,
      );
      if (res.status === 409) {
        // Intercom's index lagged a concurrent create: the contact exists, so update it instead.
        const id = await findId('upsert', ref.pseudonym, ctx);
        if (id === undefined || !(await update(id, updateFields, ctx))) {
          throw fail('upsert', 'retryable', 'conflict', { status: 409 });
        }
        return { partnerId: id, created: false };
      }
      return { partnerId: parse('upsert', res, contactSchema).id, created: true };
    },

    async erase(ref, mode, ctx) {
      const ids = await contactIds('erase', ref, ctx);
      for (const id of ids) {
        const res =
          mode === 'archive'
            ? await http.send('erase', { method: 'POST', url: `${contactPath(id)}/archive` }, ctx)
            : await http.send('erase', { method: 'DELETE', url: contactPath(id) }, ctx);
        if (res.status !== 404 && !isSuccess(res)) throw http.error('erase', res);
      }
      return { removed: ids };
    },

    // Intercom's restriction mechanism (API 2.x): an archived contact is kept but leaves the workspace's
    // active contacts; unarchive brings it back as it was.
    restrict: (ref, ctx) => archive('restrict', 'archive', ref, ctx),
    unrestrict: (ref, ctx) => archive('unrestrict', 'unarchive', ref, ctx),

    // Contacts are made with external_id = the pseudonym: one whose create answer was lost is found by it.
    async find(ref, ctx) {
      const id = await findId('find', ref.pseudonym, ctx);
      return id === undefined ? [] : [id];
    },

    // `email` is not nullable in Intercom's update schema: the policy requires it (see adapters-check).
    cannotClear: ['email'],

    async fetch(ref, ctx) {
      const id = ref.partnerIds[0] ?? (await findId('fetch', ref.pseudonym, ctx));
      if (id === undefined) return notFound;
      const res = await http.send('fetch', { method: 'GET', url: contactPath(id) }, ctx);
      if (res.status === 404) return notFound;
      return held(parse('fetch', res, heldSchema));
    },
  };
}

const notFound: HeldData = { found: false, fields: {} };

/** Exactly the payload's fields under Intercom's names; the pseudonym stands in for our id. */
function contactFields(payload: PartnerPayload, pseudonym: string): Record<string, string> {
  const fields: Record<string, string> = { external_id: pseudonym };
  if (payload.email !== undefined) fields.email = payload.email;
  if (payload.name !== undefined) fields.name = `${payload.name.given} ${payload.name.family}`;
  if (payload.phone !== undefined) fields.phone = payload.phone;
  return fields;
}

/**
 * What the master record no longer has, as Intercom clears it: `null` for `phone` and `name` (the
 * API's nullable attributes). `email` is not nullable in Intercom's API, so a cleared email is not
 * sent (see README); Intercom has no field for an address. A field the payload carries is never cleared.
 */
function clearedFields(payload: PartnerPayload, cleared: UpsertInput['cleared']): Record<string, null> {
  const out: Record<string, null> = {};
  for (const path of cleared ?? []) {
    const field = path.split('.')[0];
    if ((field === 'phone' || field === 'name') && payload[field] === undefined) out[field] = null;
  }
  return out;
}

/** Intercom keeps the whole name in one field: it is reported as 'name'. */
function held(contact: z.infer<typeof heldSchema>): HeldData {
  const { name, email, phone } = contact;
  const fields = flatFields({ name, email, phone });
  const { type: _type, ...location } = isRecord(contact.location) ? contact.location : {};
  Object.assign(fields, boundedFields(location, 'location'));
  for (const f of ACTIVITY_FIELDS) Object.assign(fields, boundedFields(contact[f], f));
  Object.assign(fields, boundedFields(contact.custom_attributes, 'custom_attributes'));
  // The avatar and social profiles come as objects with type tags and URLs: only the URLs are the person's.
  if (isRecord(contact.avatar)) Object.assign(fields, boundedFields(contact.avatar.image_url, 'avatar'));
  if (isRecord(contact.social_profiles) && Array.isArray(contact.social_profiles.data)) {
    contact.social_profiles.data.forEach((p, i) => {
      if (isRecord(p)) Object.assign(fields, boundedFields(p.url, `social_profiles.${i}`));
    });
  }
  return { found: true, fields };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The answer's fields the adapter reads, after its status: a failure status throws the partner's error. */
function answerParser(http: RestClient) {
  return <T>(operation: string, res: RestAnswer, schema: z.ZodType<T>): T => {
    if (!isSuccess(res)) throw http.error(operation, res);
    const parsed = schema.safeParse(res.data);
    // A 2xx we cannot read is not the partner's refusal: a proxy or a bad deploy, worth a retry.
    if (!parsed.success) throw fail(operation, 'retryable', 'unexpected_answer', { status: res.status });
    return parsed.data;
  };
}

/** Retry-After if sent, else Intercom's own hint: the unix second at which the 10-second window resets. */
function retryAfterMs(res: RestAnswer): number | undefined {
  return parseRetryAfter(res.headers['retry-after']) ?? parseResetTime(res.headers['x-ratelimit-reset']);
}
