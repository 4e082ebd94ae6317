import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  PartnerError,
  assertSafeBaseUrl,
  classifyHttpStatus,
  parseRetryAfter,
  safeErrorCode,
  type BatchItemResult,
  type CallContext,
  type HeldData,
  type PartnerAdapter,
  type UpsertInput,
} from '../../src/adapter.ts';
import { gatewayErrors } from '../common/errors.ts';
import { lazySdk } from '../common/lazy-sdk.ts';
import { ignoreNotFound } from '../common/results.ts';
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

/** The part of the generated SDK client this adapter uses (the package ships no types of its own). */
interface MailchimpSdk {
  basePath: string;
  timeout: number;
  setConfig(config: { apiKey: string }): void;
  lists: {
    setListMember(listId: string, hash: string, body: object): Promise<unknown>;
    updateListMember(listId: string, hash: string, body: object): Promise<unknown>;
    getListMember(listId: string, hash: string): Promise<unknown>;
    getListMembersInfo(listId: string, opts: object): Promise<unknown>;
    deleteListMember(listId: string, hash: string): Promise<unknown>;
    deleteListMemberPermanent(listId: string, hash: string): Promise<unknown>;
    batchListMembers(listId: string, body: object): Promise<unknown>;
  };
}

/** A path into the package, which ships no types: the specifier is a variable so tsc does not look for them. */
const API_CLIENT: string = '@mailchimp/mailchimp_marketing/src/ApiClient.js';

export function subscriberHash(email: string): string {
  return createHash('md5').update(email.toLowerCase()).digest('hex');
}

export function mailchimpApiRoot(options: Pick<MailchimpOptions, 'server' | 'baseUrl'>): string {
  const base = (options.baseUrl ?? `https://${options.server}.api.mailchimp.com/3.0`).replace(/\/+$/, '');
  return base.endsWith('/3.0') ? base : `${base}/3.0`;
}

const problemSchema = z.object({ title: z.string() });
const memberSchema = z.object({
  email_address: z.string(),
  status: z.string(),
  merge_fields: z.record(z.string(), z.unknown()).optional(),
  last_changed: z.string().optional(),
});
const batchSchema = z.object({
  new_members: z.array(z.object({ email_address: z.string() })).default([]),
  updated_members: z.array(z.object({ email_address: z.string() })).default([]),
  errors: z.array(z.object({ email_address: z.string().optional(), error_code: z.string().optional() })).default([]),
});

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
  const root = assertSafeBaseUrl(PARTNER, mailchimpApiRoot(options)).href.replace(/\/+$/, '');
  const sdk = lazySdk(PARTNER, async () => {
    // The package's main export is one process-wide client whose setConfig replaces the config for
    // every user: each adapter builds its own ApiClient instead, so two accounts never cross.
    const { default: ApiClient } = (await import(API_CLIENT)) as { default: new () => MailchimpSdk };
    const client = new ApiClient();
    // Without config.server the SDK leaves the URL alone (it would otherwise replace the first
    // "server" substring anywhere in it), so basePath is the whole story.
    client.setConfig({ apiKey: options.apiKey });
    client.basePath = root;
    client.timeout = Math.min(options.timeoutMs ?? MAX_TIMEOUT_MS, MAX_TIMEOUT_MS);
    return client;
  });
  /** One SDK call: loads the SDK on first use, and every failure becomes a PartnerError. */
  const run = <T>(operation: string, ctx: CallContext, send: (lists: MailchimpSdk['lists']) => Promise<T>) =>
    call(operation, ctx, async () => send((await sdk(operation)).lists));
  const { listId } = options;

  async function upsert(input: UpsertInput, ctx: CallContext, operation = 'upsert') {
    const email = requireEmail(input, operation);
    const hash = subscriberHash(email);
    const known = currentHash(input.ref);
    // An address change is a PUT to the member's old hash carrying the new address: Mailchimp then
    // re-keys the member instead of creating a second one.
    await run(operation, ctx, (lists) =>
      lists.setListMember(listId, known ?? hash, memberBody(input, email, known !== undefined)),
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
        const raw = await run('upsertBatch', ctx, (lists) =>
          lists.batchListMembers(listId, { members, update_existing: true }),
        );
        const outcome = parseBatch(raw);
        for (const i of chunk) results[i] = outcome(inputs[i]!);
      }
      for (const [n, i] of single.entries()) {
        try {
          results[i] = { ok: true, ...(await upsert(inputs[i]!, ctx, 'upsertBatch')) };
        } catch (err) {
          const error = toPartnerError('upsertBatch', err);
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
          run('suppress', ctx, (lists) => lists.updateListMember(listId, hash, { status: 'unsubscribed' })),
        );
      }
      return { partnerId: currentHash(ref) ?? '' };
    },

    // Members who unsubscribed through the newsletter's own link are status unsubscribed at Mailchimp:
    // the resync reads their ids (fields= keeps the addresses out of the answer) to record withdrawals.
    async unsubscribedSince(since, ctx) {
      const ids: string[] = [];
      for (let offset = 0; ; offset += MEMBERS_PAGE) {
        const raw = await run('unsubscribed', ctx, (lists) =>
          lists.getListMembersInfo(listId, {
            status: 'unsubscribed',
            fields: ['members.id', 'members.last_changed', 'total_items'],
            count: MEMBERS_PAGE,
            offset,
            sortField: 'last_changed',
            sortDir: 'ASC',
            ...(since ? { sinceLastChanged: since.toISOString() } : {}),
          }),
        );
        const page = unsubscribedPageSchema.safeParse(raw);
        if (!page.success) throw unexpectedResponse('unsubscribed');
        ids.push(...page.data.members.map((m) => m.id).filter((id) => HASH.test(id)));
        if (page.data.members.length < MEMBERS_PAGE || offset + MEMBERS_PAGE >= page.data.total_items) return ids;
      }
    },

    async erase(ref, mode, ctx) {
      const removed: string[] = [];
      for (const hash of knownHashes(ref.partnerIds)) {
        await ignoreNotFound(
          run('erase', ctx, (lists) =>
            mode === 'delete' ? lists.deleteListMemberPermanent(listId, hash) : lists.deleteListMember(listId, hash),
          ),
        );
        removed.push(hash);
      }
      return { removed };
    },

    async fetch(ref, ctx) {
      for (const hash of knownHashes(ref.partnerIds).reverse()) {
        const raw = await ignoreNotFound(run('fetch', ctx, (lists) => lists.getListMember(listId, hash)));
        if (raw !== undefined) return heldData(raw);
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
  if (!parsed.success) throw unexpectedResponse('upsertBatch');
  const created = new Set(parsed.data.new_members.map((m) => m.email_address.toLowerCase()));
  const updated = new Set(parsed.data.updated_members.map((m) => m.email_address.toLowerCase()));
  const failed = new Map(parsed.data.errors.map((e) => [e.email_address?.toLowerCase(), e.error_code]));
  return (input) => {
    const email = input.payload.email!.toLowerCase();
    if (created.has(email) || updated.has(email)) {
      return { ok: true, partnerId: subscriberHash(email), created: created.has(email) };
    }
    // The error text names the address: only Mailchimp's error code is kept.
    return {
      ok: false,
      error: failed.has(email)
        ? new PartnerError({
            partner: PARTNER,
            operation: 'upsertBatch',
            kind: 'permanent',
            code: failed.get(email) ?? 'ERROR_GENERIC',
          })
        : fail('upsertBatch', 'permanent', 'missing_from_answer'),
    };
  };
}

function heldData(raw: unknown): HeldData {
  const parsed = memberSchema.safeParse(raw);
  if (!parsed.success) throw unexpectedResponse('fetch');
  const { email_address, status, merge_fields = {}, last_changed } = parsed.data;
  const fields: Record<string, unknown> = { email: email_address, status };
  for (const [tag, value] of Object.entries(merge_fields)) {
    if (value === '' || value === null || value === undefined) continue;
    const name = tag === 'FNAME' ? 'name.given' : tag === 'LNAME' ? 'name.family' : `merge_fields.${tag}`;
    fields[name] = value;
  }
  if (last_changed) fields.last_changed = last_changed;
  return { found: true, fields };
}

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

function unexpectedResponse(operation: string): PartnerError {
  return fail(operation, 'permanent', 'unexpected_answer');
}

async function call<T>(operation: string, ctx: CallContext, send: () => Promise<T>): Promise<T> {
  if (ctx.signal?.aborted) throw fail(operation, 'retryable', 'aborted');
  try {
    return await send();
  } catch (err) {
    throw toPartnerError(operation, err);
  }
}

/**
 * superagent rejects with `status` and `response` on an HTTP error and with a Node error `code` on
 * a network failure or timeout (ECONNABORTED). Only a documented problem title becomes a code
 * (problem-codes.ts): its detail can quote the address, and an echoing answer its own title.
 */
function toPartnerError(operation: string, err: unknown): PartnerError {
  if (err instanceof PartnerError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    status?: unknown;
    code?: unknown;
    response?: { headers?: Record<string, string | undefined>; body?: unknown };
  };
  if (typeof e.status === 'number') {
    const problem = problemSchema.safeParse(e.response?.body);
    return new PartnerError({
      partner: PARTNER,
      operation,
      kind: classifyHttpStatus(e.status),
      status: e.status,
      code: problem.success ? problemCode(problem.data.title) : undefined,
      retryAfterMs: parseRetryAfter(e.response?.headers?.['retry-after']),
    });
  }
  // Every call here is idempotent (PUT, PATCH, GET, DELETE, and a batch that upserts), so a network
  // failure is safe to retry whether or not the request arrived.
  if (typeof e.code === 'string') {
    const timedOut = e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT';
    return fail(operation, 'retryable', timedOut ? 'timeout' : 'connection_error', {
      detail: timedOut ? undefined : `network ${safeErrorCode(e.code) ?? 'error'}`,
    });
  }
  return fail(operation, 'permanent', 'unexpected_error');
}
