import { createHash, randomUUID } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse, Holding, PartnerEmulator } from '../../src/emulator.ts';

export const MAILCHIMP_SANDBOX_API_KEY = 'sandbox0000000000000000000000000-us1';
export const MAILCHIMP_SANDBOX_LIST_ID = 'sbx0list01';

export interface MailchimpEmulatorOptions {
  /** The API key Basic auth must carry (any user name, like the real API). */
  readonly apiKey?: string;
  /** The audiences that exist; any other list id answers 404. */
  readonly listIds?: readonly string[];
}

type Status = 'subscribed' | 'unsubscribed' | 'cleaned' | 'pending' | 'transactional' | 'archived';
const WRITABLE: readonly string[] = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional'];

interface Member {
  email_address: string;
  status: Status;
  merge_fields: Record<string, string>;
  last_changed: string;
}

interface List {
  members: Map<string, Member>;
  /** Hashes of permanently deleted addresses: Mailchimp refuses to import them again. */
  forgotten: Set<string>;
}

const md5 = (email: string) => createHash('md5').update(email.toLowerCase()).digest('hex');

class Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  constructor(status: number, title: string, detail: string) {
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

export function createMailchimpEmulator(options: MailchimpEmulatorOptions = {}): PartnerEmulator {
  const apiKey = options.apiKey ?? MAILCHIMP_SANDBOX_API_KEY;
  const listIds = options.listIds ?? [MAILCHIMP_SANDBOX_LIST_ID];
  let lists = new Map<string, List>();
  const reset = () => {
    lists = new Map(listIds.map((id) => [id, { members: new Map(), forgotten: new Set() }]));
  };
  reset();

  function handle(req: EmulatorRequest): EmulatorResponse {
    try {
      authenticate(req, apiKey);
      const match = /^\/3\.0\/lists\/([^/]+)(?:\/members\/([^/]+)(\/actions\/delete-permanent)?)?\/?$/.exec(req.path);
      if (!match) throw new Problem(404, 'Resource Not Found', 'The requested resource could not be found.');
      const [, listId, hashOrEmail, deletePermanent] = match;
      const list = lists.get(decodeURIComponent(listId!));
      if (!list) throw new Problem(404, 'Resource Not Found', 'The requested resource could not be found.');
      if (hashOrEmail === undefined) {
        if (req.method !== 'POST') throw methodNotAllowed();
        return { status: 200, body: batch(list, listId!, json(req)) };
      }
      // The real API also accepts the address itself in place of its hash.
      const raw = decodeURIComponent(hashOrEmail);
      const hash = raw.includes('@') ? md5(raw) : raw.toLowerCase();
      if (deletePermanent) {
        if (req.method !== 'POST') throw methodNotAllowed();
        if (!list.members.delete(hash)) throw notFound();
        list.forgotten.add(hash);
        return { status: 204 };
      }
      switch (req.method) {
        case 'GET':
          return { status: 200, body: view(listId!, hash, existing(list, hash)) };
        case 'PUT':
          return put(list, listId!, hash, json(req));
        case 'PATCH':
          return patch(list, listId!, hash, json(req));
        case 'DELETE': {
          const member = existing(list, hash);
          if (member.status === 'archived') throw notFound();
          member.status = 'archived';
          return { status: 204 };
        }
        default:
          throw methodNotAllowed();
      }
    } catch (err) {
      if (err instanceof Problem) return problem(err);
      throw err;
    }
  }

  return {
    partner: 'mailchimp',
    limits: { maxConcurrent: 10 },
    handle,
    rateLimited: (retryAfterSeconds) =>
      problem(new Problem(429, 'Too Many Requests', 'You have exceeded the limit of 10 simultaneous connections.'), {
        'Retry-After': String(retryAfterSeconds),
      }),
    holdings() {
      const out: Record<string, Holding> = {};
      for (const [listId, list] of lists) {
        for (const [hash, m] of list.members) {
          const personal: Record<string, unknown> = { email: m.email_address };
          if (m.merge_fields.FNAME) personal['name.given'] = m.merge_fields.FNAME;
          if (m.merge_fields.LNAME) personal['name.family'] = m.merge_fields.LNAME;
          out[hash] = { personal, meta: { status: m.status, list_id: listId, last_changed: m.last_changed } };
        }
      }
      return out;
    },
    reset,
  };
}

function put(list: List, listId: string, hash: string, body: Record<string, unknown>): EmulatorResponse {
  const email = validEmail(body.email_address);
  const newHash = md5(email);
  if (list.forgotten.has(newHash)) throw forgotten(email);
  const current = list.members.get(hash);
  const status = optionalStatus(body, 'status');
  if (current && current.status !== 'archived') {
    rekey(list, hash, newHash, current);
    current.email_address = email;
    if (status) current.status = status;
    Object.assign(current.merge_fields, mergeFields(body));
    current.last_changed = now();
    return { status: 200, body: view(listId, newHash, current) };
  }
  // Creating (or re-adding an archived contact): the URL must be the address's own hash.
  if (hash !== newHash) {
    throw new Problem(400, 'Invalid Resource', 'The subscriber hash in the URL does not match the email_address.');
  }
  const initial = optionalStatus(body, 'status_if_new') ?? status;
  if (!initial) {
    throw new Problem(
      400,
      'Invalid Resource',
      'The resource submitted could not be validated: status_if_new is required for a new member.',
    );
  }
  const member: Member = {
    email_address: email,
    status: initial,
    merge_fields: mergeFields(body),
    last_changed: now(),
  };
  list.members.set(newHash, member);
  return { status: 200, body: view(listId, newHash, member) };
}

function patch(list: List, listId: string, hash: string, body: Record<string, unknown>): EmulatorResponse {
  const member = existing(list, hash);
  let key = hash;
  if (body.email_address !== undefined) {
    const email = validEmail(body.email_address);
    key = md5(email);
    rekey(list, hash, key, member);
    member.email_address = email;
  }
  const status = optionalStatus(body, 'status');
  if (status) member.status = status;
  Object.assign(member.merge_fields, mergeFields(body));
  member.last_changed = now();
  return { status: 200, body: view(listId, key, member) };
}

function batch(list: List, listId: string, body: Record<string, unknown>) {
  const members = body.members;
  if (!Array.isArray(members)) throw new Problem(400, 'Invalid Resource', 'members is required.');
  if (members.length > 500) throw new Problem(400, 'Invalid Resource', 'A batch may hold at most 500 members.');
  const updateExisting = body.update_existing === true;
  const result = { new_members: [] as object[], updated_members: [] as object[], errors: [] as object[] };
  const seen = new Set<string>();
  for (const item of members as Record<string, unknown>[]) {
    const email = typeof item?.email_address === 'string' ? item.email_address : '';
    const fail = (error: string, error_code = 'ERROR_GENERIC') =>
      result.errors.push({ email_address: email, error, error_code, field: '', field_message: '' });
    const status =
      typeof item?.status === 'string' && WRITABLE.includes(item.status) ? (item.status as Status) : undefined;
    if (!email.includes('@')) fail(`${email} looks fake or invalid, please enter a real email address.`);
    else if (!status)
      fail('status is required and must be one of subscribed, unsubscribed, cleaned, pending, transactional.');
    else if (seen.has(md5(email))) fail(`${email} appears more than once in this batch.`);
    else if (list.forgotten.has(md5(email)))
      fail(
        `${email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.`,
      );
    else {
      const hash = md5(email);
      seen.add(hash);
      const current = list.members.get(hash);
      if (current && current.status !== 'archived') {
        if (!updateExisting) {
          fail(`${email} is already a list member. Use update_existing to update it.`, 'ERROR_CONTACT_EXISTS');
          continue;
        }
        // update_existing writes the given status over the member's: that is what the endpoint is for.
        current.status = status;
        Object.assign(current.merge_fields, mergeFields(item));
        current.last_changed = now();
        result.updated_members.push(view(listId, hash, current));
      } else {
        const member: Member = { email_address: email, status, merge_fields: mergeFields(item), last_changed: now() };
        list.members.set(hash, member);
        result.new_members.push(view(listId, hash, member));
      }
    }
  }
  return {
    ...result,
    total_created: result.new_members.length,
    total_updated: result.updated_members.length,
    error_count: result.errors.length,
  };
}

function rekey(list: List, from: string, to: string, member: Member): void {
  if (from === to) return;
  if (list.members.has(to))
    throw new Problem(
      400,
      'Member Exists',
      `${member.email_address} cannot take an address that is already a list member.`,
    );
  list.members.delete(from);
  list.members.set(to, member);
}

function existing(list: List, hash: string): Member {
  const member = list.members.get(hash);
  if (!member) throw notFound();
  return member;
}

function view(listId: string, hash: string, m: Member) {
  return {
    id: hash,
    email_address: m.email_address,
    unique_email_id: hash.slice(0, 10),
    status: m.status,
    merge_fields: { FNAME: '', LNAME: '', ...m.merge_fields },
    last_changed: m.last_changed,
    list_id: listId,
  };
}

function authenticate(req: EmulatorRequest, apiKey: string): void {
  const header = req.headers.authorization;
  if (!header) throw new Problem(401, 'API Key Missing', 'Your request did not include an API key.');
  const [scheme, encoded = ''] = header.split(' ');
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const key = decoded.slice(decoded.indexOf(':') + 1);
  if (scheme?.toLowerCase() !== 'basic' || !decoded.includes(':') || key !== apiKey) {
    throw new Problem(
      401,
      'API Key Invalid',
      'Your API key may be invalid, or you have attempted to access the wrong datacenter.',
    );
  }
}

function json(req: EmulatorRequest): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(req.body.toString('utf8') || '{}');
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through: the real API answers the same for any body it cannot read
  }
  throw new Problem(400, 'JSON Parse Exception', 'We encountered an unspecified JSON parsing error.');
}

function validEmail(value: unknown): string {
  if (typeof value !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
    throw new Problem(400, 'Invalid Resource', 'Please provide a valid email address.');
  }
  return value;
}

function optionalStatus(body: Record<string, unknown>, field: string): Status | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !WRITABLE.includes(value)) {
    throw new Problem(400, 'Invalid Resource', `${field} must be one of ${WRITABLE.join(', ')}.`);
  }
  return value as Status;
}

function mergeFields(body: Record<string, unknown>): Record<string, string> {
  const fields = body.merge_fields;
  if (fields === undefined) return {};
  if (typeof fields !== 'object' || fields === null)
    throw new Problem(400, 'Invalid Resource', 'merge_fields must be an object.');
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)]));
}

function forgotten(email: string): Problem {
  return new Problem(
    400,
    'Forgotten Email Not Subscribed',
    `${email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.`,
  );
}

const notFound = () => new Problem(404, 'Resource Not Found', 'The requested resource could not be found.');
const methodNotAllowed = () =>
  new Problem(405, 'Method Not Allowed', 'The requested method and resource are not compatible.');
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00');

function problem(p: Problem, headers: Record<string, string> = {}): EmulatorResponse {
  return {
    status: p.status,
    headers: { 'content-type': 'application/problem+json; charset=utf-8', ...headers },
    body: {
      type: 'https://mailchimp.com/developer/marketing/docs/errors/',
      title: p.title,
      status: p.status,
      detail: p.detail,
      instance: randomUUID(),
    },
  };
}
