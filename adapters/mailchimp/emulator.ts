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
/** What PUT and the batch may write (the spec's enum); PATCH may not make a member transactional. */
const WRITABLE: readonly string[] = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional'];
const PATCHABLE: readonly string[] = ['subscribed', 'unsubscribed', 'cleaned', 'pending'];

interface Member {
  email_address: string;
  status: Status;
  merge_fields: Record<string, string>;
  last_changed: string;
  /** What the member's own signup recorded (ip_signup, ip_opt, language) as Mailchimp answers it. */
  signup: Partial<Record<(typeof SIGNUP_FIELDS)[number], string>>;
  location: Partial<MemberLocation>;
  tags: string[];
}

/** Member fields a body may set and a GET answers as strings ('' when unknown). */
const SIGNUP_FIELDS = ['ip_signup', 'ip_opt', 'language', 'timestamp_signup', 'timestamp_opt'] as const;

/** Mailchimp's geolocation of the member (from the signup IP): zeros and '' where it knows nothing. */
export interface MemberLocation {
  latitude: number;
  longitude: number;
  gmtoff: number;
  dstoff: number;
  country_code: string;
  timezone: string;
  region: string;
}

/** What a signup through Mailchimp's own hosted form records about the member, besides the address. */
export interface FormSignup {
  readonly ip_signup?: string;
  readonly ip_opt?: string;
  readonly language?: string;
  readonly location?: Partial<MemberLocation>;
  readonly tags?: readonly string[];
}

interface List {
  members: Map<string, Member>;
  /** Hashes of permanently deleted addresses: Mailchimp refuses to import them again. */
  forgotten: Set<string>;
}

const md5 = (email: string) => createHash('md5').update(email.toLowerCase()).digest('hex');

/** A field Mailchimp names in an Invalid Resource answer; the message never quotes the value. */
interface FieldError {
  readonly field: string;
  readonly message: string;
}

class Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly errors: readonly FieldError[] | undefined;
  constructor(status: number, title: string, detail: string, errors?: readonly FieldError[]) {
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.errors = errors;
  }
}

/** A body that does not match the operation's schema: Mailchimp lists the fields at fault. */
const invalidResource = (errors: readonly FieldError[]) =>
  new Problem(
    400,
    'Invalid Resource',
    "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
    errors,
  );

export type MailchimpEmulator = PartnerEmulator & {
  unsubscribeMember(email: string): boolean;
  signUpThroughForm(email: string, signup: FormSignup): boolean;
};

export function createMailchimpEmulator(options: MailchimpEmulatorOptions = {}): MailchimpEmulator {
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
      const members = /^\/3\.0\/lists\/([^/]+)\/members\/?$/.exec(req.path);
      if (members) {
        const list = lists.get(decodeURIComponent(members[1]!));
        if (!list) throw notFound();
        if (req.method !== 'GET') throw methodNotAllowed();
        return { status: 200, body: listMembers(list, members[1]!, req.query) };
      }
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
    /**
     * What the member does through the newsletter's own unsubscribe link: Mailchimp makes the member
     * unsubscribed itself, and the gateway learns it only from a webhook or a resync.
     */
    unsubscribeMember(email: string): boolean {
      for (const list of lists.values()) {
        const member = list.members.get(md5(email));
        if (member && member.status !== 'archived') {
          member.status = 'unsubscribed';
          member.last_changed = now();
          return true;
        }
      }
      return false;
    },
    /**
     * The member confirms through Mailchimp's hosted signup form: Mailchimp records the IP addresses,
     * geolocates them and applies the form's tags. The gateway never sends any of it.
     */
    signUpThroughForm(email: string, signup: FormSignup): boolean {
      for (const list of lists.values()) {
        const member = list.members.get(md5(email));
        if (member && member.status !== 'archived') {
          const { location, tags, ...fields } = signup;
          Object.assign(member.signup, fields);
          Object.assign(member.location, location);
          member.tags.push(...(tags ?? []).filter((t) => !member.tags.includes(t)));
          member.last_changed = now();
          return true;
        }
      }
      return false;
    },
    holdings() {
      const out: Record<string, Holding> = {};
      for (const [listId, list] of lists) {
        for (const [hash, m] of list.members) {
          const personal: Record<string, unknown> = { email: m.email_address };
          if (m.merge_fields.FNAME) personal['name.given'] = m.merge_fields.FNAME;
          if (m.merge_fields.LNAME) personal['name.family'] = m.merge_fields.LNAME;
          // What Mailchimp recorded itself: the signup and opt-in IPs, where it places them, the tags.
          if (m.signup.ip_signup) personal['ip_address.signup'] = m.signup.ip_signup;
          if (m.signup.ip_opt) personal['ip_address.opt_in'] = m.signup.ip_opt;
          if (Object.keys(m.location).length > 0) personal.location = { ...m.location };
          if (m.tags.length > 0) personal.tags = [...m.tags];
          if (m.signup.language) personal.language = m.signup.language;
          out[hash] = { personal, meta: { status: m.status, list_id: listId, last_changed: m.last_changed } };
        }
      }
      return out;
    },
    reset,
  };
}

function put(list: List, listId: string, hash: string, body: Record<string, unknown>): EmulatorResponse {
  // The PUT's body is oneOf {email_address, status_if_new} and {email_address, status}: exactly one.
  const problems = memberProblems(body, WRITABLE);
  if (body.email_address === undefined)
    problems.push({ field: 'email_address', message: 'This value should not be blank.' });
  const given = ['status', 'status_if_new'].filter((field) => body[field] !== undefined);
  if (given.length !== 1) {
    problems.push({
      field: given.length === 0 ? 'status_if_new' : 'status',
      message:
        given.length === 0
          ? 'status_if_new or status is required.'
          : 'Send status or status_if_new, not both: the body must match exactly one of the two schemas.',
    });
  }
  if (problems.length > 0) throw invalidResource(problems);
  const email = validEmail(body.email_address);
  const newHash = md5(email);
  if (list.forgotten.has(newHash)) throw forgotten(email);
  const current = list.members.get(hash);
  const status = body.status as Status | undefined;
  if (current && current.status !== 'archived') {
    rekey(list, hash, newHash, current);
    current.email_address = email;
    if (status) current.status = status;
    Object.assign(current.merge_fields, mergeFields(body));
    writeSignup(current, body);
    current.last_changed = now();
    return { status: 200, body: view(listId, newHash, current) };
  }
  // Creating (or re-adding an archived contact): the URL must be the address's own hash.
  if (hash !== newHash) {
    throw new Problem(400, 'Invalid Resource', 'The subscriber hash in the URL does not match the email_address.');
  }
  const member: Member = {
    email_address: email,
    status: status ?? (body.status_if_new as Status),
    merge_fields: mergeFields(body),
    last_changed: now(),
    signup: {},
    location: {},
    tags: [],
  };
  writeSignup(member, body);
  list.members.set(newHash, member);
  return { status: 200, body: view(listId, newHash, member) };
}

function patch(list: List, listId: string, hash: string, body: Record<string, unknown>): EmulatorResponse {
  const problems = memberProblems(body, PATCHABLE);
  // PATCH has no status_if_new: the member exists, so it would mean nothing.
  if (body.status_if_new !== undefined) problems.push({ field: 'status_if_new', message: 'Unknown field.' });
  if (problems.length > 0) throw invalidResource(problems);
  const member = existing(list, hash);
  let key = hash;
  if (body.email_address !== undefined) {
    const email = validEmail(body.email_address);
    key = md5(email);
    rekey(list, hash, key, member);
    member.email_address = email;
  }
  if (typeof body.status === 'string') member.status = body.status as Status;
  Object.assign(member.merge_fields, mergeFields(body));
  writeSignup(member, body);
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
    const fail = (error: string, error_code = 'ERROR_GENERIC', field = '', field_message = '') =>
      result.errors.push({ email_address: email, error, error_code, field, field_message });
    // A batch member needs status or status_if_new (anyOf); each may also be null, i.e. not given.
    const status = batchStatus(item, 'status');
    const statusIfNew = batchStatus(item, 'status_if_new');
    const problems = isObject(item) ? memberProblems(item, WRITABLE, { nullable: true }) : [];
    if (!isObject(item) || problems.length > 0)
      fail('The member could not be validated.', 'ERROR_GENERIC', problems[0]?.field ?? '', problems[0]?.message ?? '');
    else if (!email.includes('@')) fail(`${email} looks fake or invalid, please enter a real email address.`);
    else if (!status && !statusIfNew) fail('status or status_if_new is required.', 'ERROR_GENERIC', 'status');
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
        // update_existing writes a given status over the member's; status_if_new leaves it alone.
        if (status) current.status = status;
        Object.assign(current.merge_fields, mergeFields(item));
        writeSignup(current, item);
        current.last_changed = now();
        result.updated_members.push(view(listId, hash, current));
      } else {
        const member: Member = {
          email_address: email,
          status: (status ?? statusIfNew)!,
          merge_fields: mergeFields(item),
          last_changed: now(),
          signup: {},
          location: {},
          tags: [],
        };
        writeSignup(member, item);
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

const SORTABLE = ['timestamp_opt', 'timestamp_signup', 'last_changed'];

/**
 * GET /lists/{list_id}/members: filtered by status and since_last_changed, sorted, paged by count
 * (at most 1000) and offset; `fields` keeps only the paths it names, as the real API does.
 */
function listMembers(list: List, listId: string, query: URLSearchParams) {
  const count = Number(query.get('count') ?? 10);
  const offset = Number(query.get('offset') ?? 0);
  if (!Number.isInteger(count) || count < 1 || count > 1000)
    throw invalidResource([{ field: 'count', message: 'count must be a whole number from 1 to 1000.' }]);
  if (!Number.isInteger(offset) || offset < 0)
    throw invalidResource([{ field: 'offset', message: 'offset must be a whole number of 0 or more.' }]);
  const status = query.get('status');
  if (status !== null && !WRITABLE.includes(status) && status !== 'archived')
    throw invalidResource([{ field: 'status', message: 'The value you selected is not a valid choice.' }]);
  const since = query.get('since_last_changed');
  const sinceMs = since === null ? undefined : Date.parse(since);
  if (sinceMs !== undefined && Number.isNaN(sinceMs))
    throw invalidResource([{ field: 'since_last_changed', message: 'Please provide a valid ISO 8601 date.' }]);
  const sortField = query.get('sort_field');
  if (sortField !== null && !SORTABLE.includes(sortField))
    throw invalidResource([{ field: 'sort_field', message: 'The value you selected is not a valid choice.' }]);
  let rows = [...list.members.entries()].filter(
    ([, m]) =>
      (status === null ? m.status !== 'archived' : m.status === status) &&
      (sinceMs === undefined || Date.parse(m.last_changed) >= sinceMs),
  );
  if (sortField === 'last_changed') {
    rows.sort(([, a], [, b]) => Date.parse(a.last_changed) - Date.parse(b.last_changed));
    if (query.get('sort_dir') === 'DESC') rows.reverse();
  }
  const total = rows.length;
  rows = rows.slice(offset, offset + count);
  const full = { members: rows.map(([hash, m]) => view(listId, hash, m)), list_id: listId, total_items: total };
  const fields = query.get('fields');
  return fields === null ? full : pick(full, fields.split(','));
}

/** Only the dotted paths named (members.id keeps each member's id), as Mailchimp's `fields` does. */
function pick(value: Record<string, unknown>, paths: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const byHead = new Map<string, string[]>();
  for (const path of paths) {
    const [head, ...rest] = path.trim().split('.');
    if (!head) continue;
    byHead.set(head, [...(byHead.get(head) ?? []), ...(rest.length > 0 ? [rest.join('.')] : [])]);
  }
  for (const [head, rest] of byHead) {
    if (!(head in value)) continue;
    const v = value[head];
    if (rest.length === 0) out[head] = v;
    else if (Array.isArray(v)) out[head] = v.map((x) => (isObject(x) ? pick(x, rest) : x));
    else if (isObject(v)) out[head] = pick(v, rest);
  }
  return out;
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
    ...Object.fromEntries(SIGNUP_FIELDS.map((f) => [f, m.signup[f] ?? ''])),
    location: { ...UNKNOWN_LOCATION, ...m.location },
    tags_count: m.tags.length,
    tags: m.tags.map((name, i) => ({ id: i + 1, name })),
    last_changed: m.last_changed,
    list_id: listId,
  };
}

const UNKNOWN_LOCATION: MemberLocation = {
  latitude: 0,
  longitude: 0,
  gmtoff: 0,
  dstoff: 0,
  country_code: '',
  timezone: '',
  region: '',
};

/** The spec's signup fields and location a PUT or PATCH body carries (types checked by memberProblems). */
function writeSignup(member: Member, body: Record<string, unknown>): void {
  for (const f of SIGNUP_FIELDS) if (typeof body[f] === 'string') member.signup[f] = body[f];
  const location = body.location;
  if (isObject(location)) {
    for (const k of ['latitude', 'longitude'] as const)
      if (typeof location[k] === 'number') member.location[k] = location[k];
  }
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

function batchStatus(item: unknown, field: 'status' | 'status_if_new'): Status | undefined {
  const value = isObject(item) ? item[field] : undefined;
  return typeof value === 'string' && WRITABLE.includes(value) ? (value as Status) : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown) => typeof v === 'string';

/**
 * The member fields of the spec (ListsMembersMembers request bodies) with their types. Fields the
 * spec does not define are ignored, as Mailchimp ignores them; the spec check in the project's tests
 * is what refuses an adapter that sends one.
 */
const MEMBER_FIELDS: Readonly<Record<string, (value: unknown) => boolean>> = {
  email_address: isString,
  email_type: isString,
  interests: (v) => isObject(v) && Object.values(v).every((x) => typeof x === 'boolean'),
  ip_opt: isString,
  ip_signup: isString,
  language: isString,
  location: (v) =>
    isObject(v) && ['latitude', 'longitude'].every((k) => v[k] === undefined || typeof v[k] === 'number'),
  marketing_permissions: Array.isArray,
  merge_fields: (v) => v === null || isObject(v),
  tags: Array.isArray,
  timestamp_opt: isString,
  timestamp_signup: isString,
  vip: (v) => typeof v === 'boolean',
};

/** The fields of a member body whose type (or status value) the spec refuses; the value is never quoted. */
function memberProblems(
  body: Record<string, unknown>,
  statuses: readonly string[],
  { nullable = false } = {},
): FieldError[] {
  const problems: FieldError[] = [];
  for (const [field, value] of Object.entries(body)) {
    if (value === undefined || (nullable && value === null)) continue;
    if (field === 'status' || field === 'status_if_new') {
      if (typeof value !== 'string' || !statuses.includes(value))
        problems.push({
          field,
          message: `The value you selected is not a valid choice: use one of ${statuses.join(', ')}.`,
        });
    } else if (MEMBER_FIELDS[field] && !MEMBER_FIELDS[field](value)) {
      problems.push({ field, message: 'This value is not of the type the schema describes.' });
    }
  }
  return problems;
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
      ...(p.errors ? { errors: p.errors } : {}),
    },
  };
}
