import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  PartnerError,
  type BatchItemResult,
  type CallContext,
  type HeldData,
  type PartnerAdapter,
  type UpsertInput,
} from '../../src/adapter.ts';
import { gatewayErrors } from '../common/errors.ts';
import { createRestClient, type RestRequest } from '../common/rest-client.ts';
import { boundedFields, ignoreNotFound } from '../common/results.ts';
import { problemCode } from './problem-codes.ts';

const PARTNER = 'mailchimp';
const fail = gatewayErrors(PARTNER);
export const MAILCHIMP_MAX_BATCH = 500;
/** Mailchimp closes a request after 120 s: waiting longer only hides a dead connection. */
const MAX_TIMEOUT_MS = 120_000;

export interface MailchimpOptions {
  readonly apiKey: string;
  /** The data-centre prefix, e.g. 'us21' (the suffix of the API key). */
  readonly server: string;
  /** The audience (list) the members live in. */
  readonly listId: string;
  /** API root, default https://{server}.api.mailchimp.com/3.0; '/3.0' is appended when missing. */
  readonly baseUrl?: string;
  /** Per-request deadline in ms, at most (and by default) 120 s. */
  readonly timeoutMs?: number;
}

export function subscriberHash(email: string): string {
  return createHash('md5').update(email.toLowerCase()).digest('hex');
}

export function mailchimpApiRoot(options: Pick<MailchimpOptions, 'server' | 'baseUrl'>): string {
  const base = (options.baseUrl ?? `https://${options.server}.api.mailchimp.com/3.0`).replace(/\/+$/, '');
  return base.endsWith('/3.0') ? base : `${base}/3.0`;
}

const problemSchema = z.object({ title: z.string() });
/** A member as Mailchimp answers it; `id` is its subscriber hash, the key the adapter goes on with. */
const memberSchema = z.object({
  id: z.string(),
  email_address: z.string(),
  status: z.string(),
  merge_fields: z.record(z.string(), z.unknown()).optional(),
  last_changed: z.string().optional(),
  // What Mailchimp records itself (its signup form, its geolocation of the IP, its tags): personal too.
  ip_signup: z.unknown().optional(),
  ip_opt: z.unknown().optional(),
  timestamp_signup: z.unknown().optional(),
  timestamp_opt: z.unknown().optional(),
  language: z.unknown().optional(),
  email_client: z.unknown().optional(),
  location: z.unknown().optional(),
  tags: z.unknown().optional(),
  last_note: z.unknown().optional(),
});
const memberIdSchema = z.object({ id: z.string() });
const batchSchema = z.object({
  new_members: z.array(z.object({ email_address: z.string() })),
  updated_members: z.array(z.object({ email_address: z.string() })),
  errors: z.array(z.object({ email_address: z.string().optional(), error_code: z.string().optional() })).default([]),
});
/** Mailchimp's documented batch error codes ('ERROR_CONTACT_EXISTS', 'ERROR_GENERIC'): nothing else is kept. */
const BATCH_ERROR_CODE = /^ERROR_[A-Z_]{1,60}$/;

const HASH = /^[0-9a-f]{32}$/;
/** GET /lists/{list_id}/members answers at most 1000 members a page. */
const MEMBERS_PAGE = 1000;
// Only the member's id (its subscriber hash) and when it changed: never the address or a name.
const unsubscribedPageSchema = z.object({
  members: z.array(z.object({ id: z.string(), last_changed: z.string().optional() })),
  total_items: z.number().int().min(0),
});

export function createMailchimpAdapter(options: MailchimpOptions): PartnerAdapter {
  if (!options.apiKey) throw new Error('mailchimp: apiKey is required');
  if (!options.listId) throw new Error('mailchimp: listId is required');
  if (!/^[a-z]+[0-9]+$/.test(options.server))
    throw new Error('mailchimp: server must be a data-centre prefix such as us21');
  if (!/^[A-Za-z0-9]{1,64}$/.test(options.listId)) throw new Error('mailchimp: listId must be letters and digits');
  // Mailchimp's documented REST endpoints through the project's REST client, not the marketing SDK:
  // the SDK's ApiClient calls superagent as a module function, with no transport, agent or redirect
  // option to give it, so neither its redirects nor its answer size could be limited (README).
  const rest = createRestClient({
    partner: PARTNER,
    baseUrl: mailchimpApiRoot(options),
    // HTTP Basic with any user name and the API key as password, as Mailchimp documents.
    headers: { Authorization: `Basic ${Buffer.from(`user:${options.apiKey}`).toString('base64')}` },
    timeoutMs: Math.min(options.timeoutMs ?? MAX_TIMEOUT_MS, MAX_TIMEOUT_MS),
    // Only a documented problem title becomes a code (problem-codes.ts): its detail can quote the
    // address, and an echoing answer its own title.
    errorCode: (answer) => problemCode(problemSchema.safeParse(answer.data).data?.title),
  });
  const { listId } = options;
  const list = `/lists/${encodeURIComponent(listId)}`;
  const member = (hash: string) => `${list}/members/${hash}`;
  /** One request: any answer but a 2xx, and any failure, is a PartnerError. */
  const run = async (operation: string, ctx: CallContext, config: RestRequest): Promise<unknown> =>
    (await rest.expectOk(operation, config, ctx)).data;
  /** A PUT or PATCH of a member: acknowledged only by the member with the expected hash. */
  const write = async (operation: string, ctx: CallContext, config: RestRequest, expected: string) => {
    const answer = memberIdSchema.safeParse(await run(operation, ctx, config));
    // Both are idempotent: an answer that is not this member's is asked again.
    if (answer.data?.id !== expected) throw fail(operation, 'retryable', 'unexpected_answer');
  };

  async function upsert(input: UpsertInput, ctx: CallContext, operation = 'upsert') {
    const email = requireEmail(input, operation);
    const hash = subscriberHash(email);
    const known = currentHash(input.ref);
    // An address change is a PUT to the member's old hash carrying the new address: Mailchimp then
    // re-keys the member instead of creating a second one.
    // Answered with the member under its (new) hash: the address's own.
    await write(
      operation,
      ctx,
      { method: 'PUT', url: member(known ?? hash), data: memberBody(input, email, known !== undefined) },
      hash,
    );
    return { partnerId: hash, created: known === undefined };
  }

  return {
    partner: PARTNER,
    // Mailchimp allows 10 simultaneous connections per account and publishes no request rate.
    limits: { maxConcurrent: 10 },
    personalIds: true,
    retainedAfterErasure: [
      'After a permanent deletion Mailchimp keeps a record that the address was deleted, so that it cannot be imported again; the person can only come back by subscribing through a Mailchimp form.',
      'Archiving (erase mode "archive") removes the contact from the audience but Mailchimp keeps the whole contact (address, name, history); only mode "delete" erases it.',
    ],
    maxBatchSize: MAILCHIMP_MAX_BATCH,

    upsert: (input, ctx) => upsert(input, ctx),

    async upsertBatch(inputs, ctx) {
      const results: BatchItemResult[] = new Array(inputs.length);
      const batched: number[] = [];
      const single: number[] = [];
      inputs.forEach((input, i) => {
        if (!input.payload.email) results[i] = { ok: false, error: missingEmail('upsertBatch') };
        // The batch endpoint requires a status per member and, with update_existing, writes it over
        // the existing member's: only a consent grant may ride in it. Plain updates and address
        // changes go one by one through the status-less PUT.
        else if (input.subscription === 'subscribed' && !emailChanged(input)) batched.push(i);
        else single.push(i);
      });
      for (let start = 0; start < batched.length; start += MAILCHIMP_MAX_BATCH) {
        const chunk = batched.slice(start, start + MAILCHIMP_MAX_BATCH);
        const members = chunk.map((i) => batchMember(inputs[i]!));
        const raw = await run('upsertBatch', ctx, {
          method: 'POST',
          url: list,
          data: { members, update_existing: true },
        });
        const outcome = parseBatch(raw);
        for (const i of chunk) results[i] = outcome(inputs[i]!);
      }
      for (const [n, i] of single.entries()) {
        try {
          results[i] = { ok: true, ...(await upsert(inputs[i]!, ctx, 'upsertBatch')) };
        } catch (err) {
          const error = err instanceof PartnerError ? err : fail('upsertBatch', 'permanent', 'unexpected_error');
          results[i] = { ok: false, error };
          // A throttled or failing partner is not hammered with the rest of the batch.
          if (error.retryable) {
            for (const j of single.slice(n + 1)) results[j] = { ok: false, error };
            break;
          }
        }
      }
      return results;
    },

    async suppress(ref, ctx) {
      const hashes = knownHashes(ref.partnerIds);
      for (const hash of hashes) {
        await ignoreNotFound(
          write('suppress', ctx, { method: 'PATCH', url: member(hash), data: { status: 'unsubscribed' } }, hash),
        );
      }
      return { partnerId: currentHash(ref) ?? '' };
    },

    // Members who unsubscribed through the newsletter's own link are status unsubscribed at Mailchimp:
    // the resync reads their ids (fields= keeps the addresses out of the answer) to record withdrawals.
    async unsubscribedSince(since, ctx) {
      const ids: string[] = [];
      for (let offset = 0; ; offset += MEMBERS_PAGE) {
        const raw = await run('unsubscribed', ctx, {
          method: 'GET',
          url: `${list}/members`,
          params: {
            status: 'unsubscribed',
            fields: 'members.id,members.last_changed,total_items',
            count: MEMBERS_PAGE,
            offset,
            sort_field: 'last_changed',
            sort_dir: 'ASC',
            ...(since ? { since_last_changed: since.toISOString() } : {}),
          },
        });
        const page = unsubscribedPageSchema.safeParse(raw);
        if (!page.success) throw fail('unsubscribed', 'retryable', 'unexpected_answer');
        ids.push(...page.data.members.map((m) => m.id).filter((id) => HASH.test(id)));
        if (page.data.members.length < MEMBERS_PAGE || offset + MEMBERS_PAGE >= page.data.total_items) return ids;
      }
    },

    async erase(ref, mode, ctx) {
      const removed: string[] = [];
      for (const hash of knownHashes(ref.partnerIds)) {
        await ignoreNotFound(
          run(
            'erase',
            ctx,
            mode === 'delete'
              ? { method: 'POST', url: `${member(hash)}/actions/delete-permanent` }
              : { method: 'DELETE', url: member(hash) },
          ),
        );
        removed.push(hash);
      }
      return { removed };
    },

    async fetch(ref, ctx) {
      for (const hash of knownHashes(ref.partnerIds).reverse()) {
        const raw = await ignoreNotFound(run('fetch', ctx, { method: 'GET', url: member(hash) }));
        if (raw !== undefined) return heldData(raw, hash);
      }
      return { found: false, fields: {} };
    },
  };
}

function memberBody(input: UpsertInput, email: string, existing: boolean): object {
  return {
    email_address: email,
    ...mergeFields(input, existing),
    // The PUT takes exactly one of status (a consent grant: new or existing, the member is subscribed)
    // and status_if_new (anything else: an existing member's status is left alone, so a resync never
    // re-subscribes anyone; a member Mailchimp no longer has comes back unsubscribed).
    ...(input.subscription === 'subscribed' ? { status: 'subscribed' } : { status_if_new: 'unsubscribed' }),
  };
}

function batchMember(input: UpsertInput): object {
  return {
    email_address: input.payload.email,
    status: 'subscribed',
    // Batched only without an address change, so a known hash is this member's own.
    ...mergeFields(input, knownHashes(input.ref.partnerIds).length > 0),
  };
}

/**
 * FNAME / LNAME from the payload's name; on an update of a member we know, a cleared name is written
 * as empty strings, which is how Mailchimp clears a merge field. A new member has nothing to clear. The
 * email cannot be cleared on a member: the policy requires it, so the gateway erases instead. Mailchimp
 * gets no phone or address, so those are never cleared.
 */
function mergeFields(input: UpsertInput, existing: boolean): { merge_fields?: { FNAME: string; LNAME: string } } {
  const { name } = input.payload;
  if (name) return { merge_fields: { FNAME: name.given, LNAME: name.family } };
  const nameCleared = (input.cleared ?? []).some((path) => path.split('.')[0] === 'name');
  return existing && nameCleared ? { merge_fields: { FNAME: '', LNAME: '' } } : {};
}

function parseBatch(raw: unknown): (input: UpsertInput) => BatchItemResult {
  const parsed = batchSchema.safeParse(raw);
  // The batch upserts, so asking again is safe.
  if (!parsed.success) throw fail('upsertBatch', 'retryable', 'unexpected_answer');
  const created = new Set(parsed.data.new_members.map((m) => m.email_address.toLowerCase()));
  const updated = new Set(parsed.data.updated_members.map((m) => m.email_address.toLowerCase()));
  const failed = new Map(parsed.data.errors.map((e) => [e.email_address?.toLowerCase(), e.error_code]));
  return (input) => {
    const email = input.payload.email!.toLowerCase();
    if (created.has(email) || updated.has(email)) {
      return { ok: true, partnerId: subscriberHash(email), created: created.has(email) };
    }
    // The error text names the address, and an echoing answer could put anything in error_code:
    // only a code of Mailchimp's documented form is kept.
    const code = failed.get(email);
    return {
      ok: false,
      error: failed.has(email)
        ? new PartnerError({
            partner: PARTNER,
            operation: 'upsertBatch',
            kind: 'permanent',
            code: code !== undefined && BATCH_ERROR_CODE.test(code) ? code : 'ERROR_GENERIC',
          })
        : fail('upsertBatch', 'permanent', 'missing_from_answer'),
    };
  };
}

function heldData(raw: unknown, hash: string): HeldData {
  const parsed = memberSchema.safeParse(raw);
  // Not this member's answer: nothing can be said about what Mailchimp holds.
  if (!parsed.success || parsed.data.id !== hash) throw fail('fetch', 'retryable', 'unexpected_answer');
  const { email_address, status, merge_fields = {}, last_changed, location, tags, last_note, ...own } = parsed.data;
  const fields: Record<string, unknown> = { email: email_address, status };
  for (const [tag, value] of Object.entries(merge_fields)) {
    const name = tag === 'FNAME' ? 'name.given' : tag === 'LNAME' ? 'name.family' : `merge_fields.${tag}`;
    Object.assign(fields, boundedFields(value, name));
  }
  if (last_changed) fields.last_changed = last_changed;
  for (const key of ['ip_signup', 'ip_opt', 'timestamp_signup', 'timestamp_opt', 'language', 'email_client'] as const)
    Object.assign(fields, boundedFields(own[key], key));
  Object.assign(fields, boundedFields(knownLocation(location), 'location'));
  // Tags come as {id, name}: the names are what was said about the member.
  const tagNames = Array.isArray(tags) ? tags.map((t: unknown) => (isRecord(t) ? t.name : t)) : tags;
  Object.assign(fields, boundedFields(tagNames, 'tags'));
  Object.assign(fields, boundedFields(isRecord(last_note) ? last_note.note : undefined, 'last_note'));
  return { found: true, fields };
}

/** Mailchimp answers a location it could not work out as zeros and empty strings: nothing is held then. */
function knownLocation(location: unknown): Record<string, unknown> | undefined {
  if (!isRecord(location)) return undefined;
  const known = Object.entries(location).filter(([, v]) => v !== 0 && v !== '' && v !== null);
  const onlyOffsets = known.every(([k]) => k === 'gmtoff' || k === 'dstoff');
  return onlyOffsets ? undefined : Object.fromEntries(known);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function knownHashes(partnerIds: readonly string[]): string[] {
  return partnerIds.filter((id) => HASH.test(id));
}

/**
 * The member's key now: the one Mailchimp last answered with (ref.currentId). The other hashes in
 * partnerIds are the keys it had before an address change re-keyed it. Without a currentId (a link
 * written before it was recorded) the newest, which the gateway keeps first.
 */
function currentHash(ref: UpsertInput['ref']): string | undefined {
  if (ref.currentId !== undefined && HASH.test(ref.currentId)) return ref.currentId;
  return knownHashes(ref.partnerIds)[0];
}

function emailChanged(input: UpsertInput): boolean {
  const known = currentHash(input.ref);
  return known !== undefined && known !== subscriberHash(input.payload.email!);
}

function requireEmail(input: UpsertInput, operation: string): string {
  if (!input.payload.email) throw missingEmail(operation);
  return input.payload.email;
}

function missingEmail(operation: string): PartnerError {
  return fail(operation, 'permanent', 'missing_email');
}
