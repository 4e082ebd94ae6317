import type { Sql } from '../store/database.ts';
import type { Statement } from '../store/statements.ts';
import type { AuditKeyring } from './audit-keys.ts';
import { contentHash, writerTag, type RowContent } from './row-content.ts';

/** Why a call was made. */
export type Trigger = 'change' | 'resync' | 'erasure' | 'consent' | 'restriction' | 'ops' | 'action' | 'retention';

export type Operation = 'upsert' | 'upsert_batch' | 'erase' | 'suppress' | 'action' | 'fetch' | string;

/** A transfer log row as written. Never a personal value: field names, categories and digests only. */
export interface IntentRow {
  readonly subjectId: string;
  readonly partner: string;
  readonly operation: Operation;
  readonly purpose: string;
  readonly legalBasis: string;
  readonly trigger: Trigger;
  readonly operator?: string | undefined;
  readonly correlationId: string;
  readonly fields: readonly string[];
  readonly categories: readonly string[];
  readonly payloadDigest?: string | undefined;
  readonly partnerId?: string | undefined;
  readonly attempt: number;
  readonly policyDigest: string;
}

export type Outcome = 'ok' | 'failed' | 'unknown';

export interface OutcomeRow {
  readonly outcome: Outcome;
  readonly partnerId?: string | undefined;
  readonly httpStatus?: number | undefined;
  readonly errorCode?: string | undefined;
  readonly durationMs?: number | undefined;
}

export interface EventRow {
  readonly subjectId?: string | undefined;
  readonly partner?: string | undefined;
  /** e.g. restrict, unrestrict, consent_grant, consent_withdraw, erasure_requested, retention_purge. */
  readonly operation: string;
  readonly trigger: Trigger;
  readonly operator?: string | undefined;
  readonly correlationId: string;
  readonly purpose?: string | undefined;
  readonly legalBasis?: string | undefined;
  readonly policyDigest: string;
}

/**
 * Rows are written whole: the writer takes each row's seq and time from the database first, so that
 * its tag (src/log/row-content.ts) covers everything the row says, seq and time included. A row in
 * the table without a valid tag was not written here: the sealer keeps it out of the chain and
 * verify names it. Without a keyring rows are written untagged (the unsigned log of before).
 */
export async function writeIntent(sql: Sql, row: IntentRow, keyring: AuditKeyring | undefined): Promise<string> {
  const [seq] = await writeIntents(sql, [row], keyring);
  return seq!;
}

/**
 * Many intents in one statement (a batch call to one partner). Returns the seqs in input order.
 * `reserved`: slots the caller's own statement took (RESERVED_SLOTS), in seq order, at least one per row.
 */
export async function writeIntents(
  sql: Sql,
  rows: readonly IntentRow[],
  keyring: AuditKeyring | undefined,
  reserved?: readonly Slot[],
): Promise<string[]> {
  return (await writeIntentRows(sql, rows, keyring, reserved)).map((c) => c.seq);
}

/**
 * writeIntents, returning each row as written (in input order): its outcome copies it from there
 * (prepareOutcomes' `written`) rather than reading it back.
 */
export async function writeIntentRows(
  sql: Sql,
  rows: readonly IntentRow[],
  keyring: AuditKeyring | undefined,
  reserved?: readonly Slot[],
): Promise<RowContent[]> {
  if (rows.length === 0) return [];
  const slots = reserved && reserved.length >= rows.length ? reserved : await reserve(sql, rows.length);
  const contents = rows.map((row, i): RowContent => ({
    seq: slots[i]!.seq,
    at_us: slots[i]!.at_us,
    kind: 'intent',
    intent_seq: null,
    subject_id: row.subjectId,
    partner: row.partner,
    operation: row.operation,
    purpose: row.purpose,
    legal_basis: row.legalBasis,
    trigger: row.trigger,
    operator: row.operator ?? null,
    correlation_id: row.correlationId,
    fields: [...row.fields],
    categories: [...row.categories],
    payload_digest: row.payloadDigest ?? null,
    partner_id: row.partnerId ?? null,
    outcome: null,
    http_status: null,
    error_code: null,
    attempt: row.attempt,
    duration_ms: null,
    policy_digest: row.policyDigest,
  }));
  await insertRows(sql, contents, slots, keyring);
  return contents;
}

/** The outcome row copies the intent's who/what/why, so each row reads on its own in an export. */
export async function writeOutcome(
  sql: Sql,
  intentSeq: string,
  row: OutcomeRow,
  keyring: AuditKeyring | undefined,
): Promise<void> {
  await writeOutcomes(sql, [{ intentSeq, ...row }], keyring);
}

/** What an outcome row copies from its intent. */
const COPIED = `i.seq::text as seq, i.subject_id, i.partner, i.operation, i.purpose, i.legal_basis, i.trigger, i.operator,
  i.correlation_id, i.fields, i.categories, i.payload_digest, i.partner_id, i.attempt, i.policy_digest`;

export type IntentCopy = Pick<
  RowContent,
  | 'seq'
  | 'subject_id'
  | 'partner'
  | 'operation'
  | 'purpose'
  | 'legal_basis'
  | 'trigger'
  | 'operator'
  | 'correlation_id'
  | 'fields'
  | 'categories'
  | 'payload_digest'
  | 'partner_id'
  | 'attempt'
  | 'policy_digest'
>;

export async function writeOutcomes(
  sql: Sql,
  rows: readonly (OutcomeRow & { intentSeq: string })[],
  keyring: AuditKeyring | undefined,
): Promise<void> {
  const insert = await prepareOutcomes(sql, rows, keyring);
  if (insert) await sql.query(insert.text, insert.params);
}

/**
 * writeOutcomes up to its insert, which it returns (undefined: nothing to write), so the caller can
 * run it together with the links it commits with (runTogether). `written`: the intents as this
 * process wrote them (writeIntentRows), by seq; the others are read from the log.
 */
export async function prepareOutcomes(
  sql: Sql,
  rows: readonly (OutcomeRow & { intentSeq: string })[],
  keyring: AuditKeyring | undefined,
  written?: ReadonlyMap<string, IntentCopy>,
): Promise<Statement | undefined> {
  if (rows.length === 0) return undefined;
  const { intents, slots } = await intentsAndSlots(sql, rows, written);
  // Outcome seqs follow the order of their intents, as when the database assigned them.
  const ordered = rows.filter((r) => intents.has(r.intentSeq)).sort((a, b) => compareSeq(a.intentSeq, b.intentSeq));
  // Two outcomes of one intent in one call need a slot more than the intents gave.
  if (ordered.length > slots.length) slots.push(...(await reserve(sql, ordered.length - slots.length)));
  const contents = ordered.map((row, i): RowContent => {
    const intent = intents.get(row.intentSeq)!;
    return {
      subject_id: intent.subject_id,
      partner: intent.partner,
      operation: intent.operation,
      purpose: intent.purpose,
      legal_basis: intent.legal_basis,
      trigger: intent.trigger,
      operator: intent.operator,
      correlation_id: intent.correlation_id,
      fields: intent.fields,
      categories: intent.categories,
      payload_digest: intent.payload_digest,
      attempt: intent.attempt,
      policy_digest: intent.policy_digest,
      seq: slots[i]!.seq,
      at_us: slots[i]!.at_us,
      kind: 'outcome',
      intent_seq: intent.seq,
      partner_id: row.partnerId ?? intent.partner_id,
      outcome: row.outcome,
      http_status: row.httpStatus ?? null,
      error_code: row.errorCode ?? null,
      duration_ms: row.durationMs === undefined ? null : Math.round(row.durationMs),
    };
  });
  return rowsInsert(contents, slots, keyring);
}

/**
 * The intents the outcomes copy, and a seq and time for each outcome, in one round trip: only the
 * slots when every intent is among those written here.
 */
async function intentsAndSlots(
  sql: Sql,
  rows: readonly { intentSeq: string }[],
  written: ReadonlyMap<string, IntentCopy> | undefined,
): Promise<{ intents: Map<string, IntentCopy>; slots: Slot[] }> {
  const known = written && rows.every((r) => written.has(r.intentSeq));
  if (known) {
    const intents = new Map(rows.map((r) => [r.intentSeq, written.get(r.intentSeq)!]));
    return { intents, slots: await reserve(sql, intents.size) };
  }
  const found = await sql.query<IntentCopy & { new_seq: string; at: string; new_at_us: string }>(
    `select ${COPIED}, nextval('transfer_log_seq_seq')::text as new_seq, c.t::text as at,
       (extract(epoch from c.t) * 1000000)::bigint::text as new_at_us
     from transfer_log i cross join lateral (select clock_timestamp() as t) c
     where i.seq = any($1::bigint[])`,
    [rows.map((r) => r.intentSeq)],
  );
  return {
    intents: new Map(found.map((f) => [f.seq as string, f])),
    slots: found.map((f) => ({ seq: f.new_seq, at: f.at, at_us: f.new_at_us })).sort(bySeq),
  };
}

/**
 * `slot`: a seq and time already reserved by the caller's own statement (RESERVED_SLOT in it), which
 * saves the round trip of reserving one here.
 */
export async function writeEvent(
  sql: Sql,
  row: EventRow,
  keyring: AuditKeyring | undefined,
  slot?: Slot,
): Promise<string> {
  const slots = slot ? [slot] : await reserve(sql, 1);
  const content: RowContent = {
    seq: slots[0]!.seq,
    at_us: slots[0]!.at_us,
    kind: 'event',
    intent_seq: null,
    subject_id: row.subjectId ?? null,
    partner: row.partner ?? null,
    operation: row.operation,
    purpose: row.purpose ?? null,
    legal_basis: row.legalBasis ?? null,
    trigger: row.trigger,
    operator: row.operator ?? null,
    correlation_id: row.correlationId,
    fields: [],
    categories: [],
    payload_digest: null,
    partner_id: null,
    outcome: null,
    http_status: null,
    error_code: null,
    attempt: null,
    duration_ms: null,
    policy_digest: row.policyDigest,
  };
  await insertRows(sql, [content], slots, keyring);
  return content.seq;
}

/**
 * A seq and time for one row, as a subquery a caller's statement can select from (`select slot.* from
 * ${RESERVED_SLOT} slot`), so a statement that does other work also reserves its event's slot.
 */
export const RESERVED_SLOT = `(select nextval('transfer_log_seq_seq')::text as seq, c.t::text as at,
  (extract(epoch from c.t) * 1000000)::bigint::text as at_us from (select clock_timestamp() as t) c)`;

export interface Slot {
  readonly seq: string;
  /** The time as the database prints it (exact to the microsecond), to insert. */
  readonly at: string;
  readonly at_us: string;
}

/** `count` slots (rows seq, at, at_us), for a statement that reserves them beside other work. */
export const RESERVED_SLOTS = (count: string) =>
  `select nextval('transfer_log_seq_seq')::text as seq, c.t::text as at, (extract(epoch from c.t) * 1000000)::bigint::text as at_us
     from generate_series(1, ${count}::int) g cross join lateral (select clock_timestamp() as t) c`;

async function reserve(sql: Sql, count: number): Promise<Slot[]> {
  const slots = await sql.query<Slot>(RESERVED_SLOTS('$1'), [count]);
  return slots.sort(bySeq);
}

/** Slots in seq order (as writeIntents wants them). */
export const bySeq = (a: Slot, b: Slot) => compareSeq(a.seq, b.seq);

const compareSeq = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

async function insertRows(
  sql: Sql,
  contents: readonly RowContent[],
  slots: readonly Slot[],
  keyring: AuditKeyring | undefined,
): Promise<void> {
  const insert = rowsInsert(contents, slots, keyring);
  if (insert) await sql.query(insert.text, insert.params);
}

function rowsInsert(
  contents: readonly RowContent[],
  slots: readonly Slot[],
  keyring: AuditKeyring | undefined,
): Statement | undefined {
  if (contents.length === 0) return undefined;
  const columns = INSERTED.map(([, , value]) => contents.map((c, i) => value(c, slots[i]!, keyring)));
  const names = INSERTED.map(([name]) => name).join(', ');
  if (contents.length === 1) {
    // One row (an event, a single call's intent or outcome): plain values plan faster than unnest,
    // about 0.2 ms less per row on PostgreSQL (timed at the client, 2,000 inserts).
    return {
      text: `insert into transfer_log (${names}) values (${INSERTED.map(([, type], i) => `$${i + 1}::${type}`).join(', ')})`,
      params: columns.map((column) => column[0]),
    };
  }
  // unnest flattens arrays of arrays, so the name lists travel comma-joined (listValue refuses a name
  // with a comma) and are split back here.
  const split = (name: string) => (name === 'fields' || name === 'categories' ? `string_to_array(${name}, ',')` : name);
  return {
    text: `insert into transfer_log (${names})
     select ${INSERTED.map(([name]) => split(name)).join(', ')}
     from unnest(${INSERTED.map(([, type], i) => `$${i + 1}::${type === 'text[]' ? 'text' : type}[]`).join(', ')})
       as u(${names})`,
    params: columns.map((column, i) =>
      INSERTED[i]![1] === 'text[]' ? column.map((list) => (list as string[]).join(',')) : column,
    ),
  };
}

/** transfer_log's written columns: name, type, and the value from a row's content. */
const INSERTED: readonly (readonly [
  string,
  string,
  (c: RowContent, slot: Slot, keyring: AuditKeyring | undefined) => unknown,
])[] = [
  ['seq', 'bigint', (c) => c.seq],
  ['at', 'timestamptz', (_, slot) => slot.at],
  ['kind', 'text', (c) => c.kind],
  ['intent_seq', 'bigint', (c) => c.intent_seq],
  ['subject_id', 'text', (c) => c.subject_id],
  ['partner', 'text', (c) => c.partner],
  ['operation', 'text', (c) => c.operation],
  ['purpose', 'text', (c) => c.purpose],
  ['legal_basis', 'text', (c) => c.legal_basis],
  ['trigger', 'text', (c) => c.trigger],
  ['operator', 'text', (c) => c.operator],
  ['correlation_id', 'text', (c) => c.correlation_id],
  ['fields', 'text[]', (c) => listValue('fields', c.fields)],
  ['categories', 'text[]', (c) => listValue('categories', c.categories)],
  ['payload_digest', 'text', (c) => c.payload_digest],
  ['partner_id', 'text', (c) => c.partner_id],
  ['outcome', 'text', (c) => c.outcome],
  ['http_status', 'int', (c) => c.http_status],
  ['error_code', 'text', (c) => c.error_code],
  ['attempt', 'int', (c) => c.attempt],
  ['duration_ms', 'int', (c) => c.duration_ms],
  ['policy_digest', 'text', (c) => c.policy_digest],
  ['writer_mac', 'text', (c, _, keyring) => (keyring ? writerTag(keyring, contentHash(c)) : null)],
];

/** A name list as written: no name may hold a comma (the batch insert carries the lists comma-joined). */
function listValue(column: 'fields' | 'categories', names: readonly string[]): string[] {
  if (names.some((name) => name.includes(','))) throw new Error(`transfer log ${column}: a name contains a comma`);
  return [...names];
}

/**
 * An intent with no outcome for (subject, partner) when a new attempt starts means the previous
 * attempt died between the call and its outcome (one (subject, partner) is never worked on twice at
 * once). Record that honestly as "unknown" rather than leave a silent gap.
 */
export async function closeOpenIntents(
  sql: Sql,
  subjectIds: string | readonly string[],
  partner: string,
  keyring: AuditKeyring | undefined,
): Promise<{ subjectId: string; operation: string }[]> {
  const ids = typeof subjectIds === 'string' ? [subjectIds] : [...subjectIds];
  if (ids.length === 0) return [];
  const open = await sql.query<OpenIntent>(`${OPEN_INTENTS('$1', '$2')} order by i.seq`, [ids, partner]);
  return closeIntents(sql, open, keyring);
}

export interface OpenIntent {
  readonly seq: string;
  readonly subject_id: string;
  readonly operation: string;
}

/** The intents of (subjects, partner) with no outcome (rows seq, subject_id, operation). */
export const OPEN_INTENTS = (subjectIds: string, partner: string) =>
  `select i.seq::text as seq, i.subject_id, i.operation from transfer_log i
     where i.kind = 'intent' and i.subject_id = any(${subjectIds}::text[]) and i.partner = ${partner}
       and not exists (select 1 from transfer_log o where o.kind = 'outcome' and o.intent_seq = i.seq)`;

/** closeOpenIntents for intents the caller already found open (OPEN_INTENTS), in seq order. */
export async function closeIntents(
  sql: Sql,
  open: readonly OpenIntent[],
  keyring: AuditKeyring | undefined,
): Promise<{ subjectId: string; operation: string }[]> {
  await writeOutcomes(
    sql,
    open.map((r) => ({ intentSeq: r.seq, outcome: 'unknown' as const, errorCode: 'attempt_died' })),
    keyring,
  );
  return open.map((r) => ({ subjectId: r.subject_id, operation: r.operation }));
}
