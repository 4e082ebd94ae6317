import type { PartnerPayload, SubjectRef } from '../adapter.ts';
import { erasureDueAt, withSubscriptionEnd } from '../erasure-schedule.ts';
import type { Keys } from '../keys.ts';
import { describePayload, minimise } from '../minimise.ts';
import { isFormerPartner, type Policy } from '../policy/index.ts';
import { InvalidRecordError, parseMasterRecordLeniently, type MasterRecord } from '../record.ts';
import { isErased, reconcile, type Action, type Directives } from '../reconcile.ts';
import type { StoredLink, SubjectState } from '../store/state.ts';

/**
 * plan: (record, stored state, partner, policy, clock) -> what to do for one subject at one partner.
 * The worker, resync (its dry run included) and actions all plan through this one function, so a dry
 * run counts exactly what the workers then do.
 */
export type SubjectPlan = InvalidPlan | ReadyPlan;

/** The master record did not parse, or is not the subject's: nothing is sent, the job is a dead letter. */
export interface InvalidPlan {
  readonly kind: 'invalid';
  readonly subjectId: string;
  readonly partner: string;
  /** Names the bad fields, never their values. */
  readonly reason: string;
  readonly problems: readonly { readonly path: string; readonly message: string }[];
}

export interface ReadyPlan {
  readonly kind: 'ready';
  readonly subjectId: string;
  readonly partner: string;
  /** Null when the host has no record (any more). */
  readonly record: MasterRecord | null;
  readonly action: Action;
  /** The subject's directives as reconcile saw them (the record's subscription end applied). */
  readonly directives: Directives;
  /** The minimised payload for this partner (null without a record). */
  readonly payload: PartnerPayload | null;
  /** Who the call is about, as the partner may know it: its pseudonym and every id it has for the subject. */
  readonly ref: SubjectRef;
  readonly link: StoredLink | null;
  /** Field paths and categories of the minimised payload. */
  readonly fields: readonly string[];
  readonly categories: readonly string[];
  /** The fields the policy allows this partner now. */
  readonly allowed: readonly string[];
  /** Ids the host's record names for this partner (an Auth0 user id, balena devices). */
  readonly hostIds: readonly string[];
  /**
   * The subscription end the record carries now (null: none, a renewal), when the store holds another
   * one: the worker records it, and with it when erasure falls due (see withSubscriptionEnd).
   */
  readonly subscriptionChange: { readonly endedAt: Date | null; readonly dueAt: Date | null } | null;
}

export interface PlanInput {
  readonly subjectId: string;
  readonly partner: string;
  /** The record as the source returned it (unknown shape), or null. */
  readonly raw: unknown;
  readonly state: SubjectState;
  readonly policy: Policy;
  readonly keys: Keys;
  readonly now: Date;
  readonly force?: boolean | undefined;
  /** Fields the partner's adapter cannot clear once sent (PartnerAdapter.cannotClear). */
  readonly cannotClear?: readonly string[] | undefined;
}

export function planSubject(input: PlanInput): SubjectPlan {
  const parsed = readRecord(input.subjectId, input.raw);
  if (!parsed.ok) return { kind: 'invalid', subjectId: input.subjectId, partner: input.partner, ...parsed.invalid };
  return planRead({ ...input, read: parsed });
}

export type RecordRead =
  | {
      readonly ok: true;
      readonly record: MasterRecord | null;
      /** Personal fields left out of the record because they did not parse: block the partners sent them. */
      readonly invalidFields?: InvalidRecordError;
    }
  | { readonly ok: false; readonly invalid: Pick<InvalidPlan, 'reason' | 'problems'> };

/** Parses the source's answer for a subject: the record, null (none), or why it is not usable. */
export function readRecord(subjectId: string, raw: unknown): RecordRead {
  try {
    const read = raw === null || raw === undefined ? null : parseMasterRecordLeniently(raw);
    const record = read?.record ?? null;
    if (record && record.id !== subjectId) {
      throw new InvalidRecordError(subjectId, [{ path: 'id', message: 'does not match the subject id asked for' }]);
    }
    return read?.invalid
      ? { ok: true, record, invalidFields: new InvalidRecordError(subjectId, read.invalid.problems) }
      : { ok: true, record };
  } catch (error) {
    if (!(error instanceof InvalidRecordError)) throw error;
    return { ok: false, invalid: { reason: error.message, problems: error.problems } };
  }
}

/**
 * plan for a record read: a partner sent a field that did not parse is blocked (nothing sent, its
 * job a dead letter naming the field), unless the subject is being erased, which needs no field.
 * Partners not sent that field go on with the rest of the record.
 */
export function planRead(
  input: Omit<PlanInput, 'raw'> & { readonly read: Extract<RecordRead, { ok: true }> },
): SubjectPlan {
  return blockedBy(input) ?? planRecord({ ...input, record: input.read.record });
}

/**
 * decideRead: planRead's decision alone (the action and the link it was made on), without what only
 * a call needs (the pseudonym, the ids to send to). Resync counts through this: the same checks and
 * the same reconcile() as planRead, minus an HMAC per pair it would throw away.
 */
export function decideRead(
  input: Omit<PlanInput, 'raw'> & { readonly read: Extract<RecordRead, { ok: true }> },
): InvalidPlan | Decision {
  return blockedBy(input) ?? decideRecord({ ...input, record: input.read.record });
}

/** The invalid plan when the partner is sent a field that did not parse (and the subject is not being erased). */
function blockedBy(
  input: Omit<PlanInput, 'raw'> & { readonly read: Extract<RecordRead, { ok: true }> },
): InvalidPlan | null {
  const { read } = input;
  const problems = read.invalidFields ? problemsFor(read.invalidFields, input.partner, input.policy) : [];
  if (problems.length === 0 || isErased(input.state.directives, input.now)) return null;
  const error = new InvalidRecordError(input.subjectId, problems);
  return { kind: 'invalid', subjectId: input.subjectId, partner: input.partner, reason: error.message, problems };
}

/** The problems in fields this partner is sent (by top-level field: half a name is no name). */
function problemsFor(invalid: InvalidRecordError, partner: string, policy: Policy): InvalidRecordError['problems'] {
  if (isFormerPartner(policy, partner)) return [];
  const sent = new Set(policy.allowedFields(partner).map((path) => path.split('.')[0]));
  return invalid.problems.filter((p) => sent.has(p.path.split('.')[0]));
}

/** What planRecord decides, before the parts only a call needs. */
export type Decision = Omit<ReadyPlan, 'ref' | 'allowed' | 'subscriptionChange'>;

/** plan for a record already read (resync reads each record once for every partner). */
export function planRecord(input: Omit<PlanInput, 'raw'> & { readonly record: MasterRecord | null }): ReadyPlan {
  const decision = decideRecord(input);
  const { subjectId, partner, policy, keys, state, record } = input;
  const { link, hostIds } = decision;
  const timeZone = policy.document.retention.timeZone;
  const end = record?.subscription?.end ?? null;
  return {
    ...decision,
    ref: {
      pseudonym: keys.pseudonym(partner, subjectId),
      // Ids of an erased record are history, not something to update.
      partnerIds: union(link && !link.erased ? link.partnerIds : [], hostIds),
      ...(link && !link.erased && link.currentId ? { currentId: link.currentId } : {}),
    },
    allowed: policy.allowedFields(partner),
    subscriptionChange:
      record &&
      !state.directives.tombstoned &&
      (state.subscriptionEndedAt?.getTime() ?? null) !== (end?.getTime() ?? null)
        ? { endedAt: end, dueAt: end ? erasureDueAt(end, timeZone) : null }
        : null,
  };
}

/** The decision for a record already read: the action, and what it was decided on. */
export function decideRecord(input: Omit<PlanInput, 'raw'> & { readonly record: MasterRecord | null }): Decision {
  const { subjectId, partner, policy, keys, state, record } = input;
  const timeZone = policy.document.retention.timeZone;
  const link = state.links.get(partner) ?? null;
  const offboarding = isFormerPartner(policy, partner);
  const hostIds = record ? hostIdsOf(record, partner) : [];
  const payload = record ? minimise(record, partner, policy) : null;
  const described = payload ? describePayload(payload, policy) : { fields: [], categories: [] };
  const end = record?.subscription?.end ?? null;
  const directives = withSubscriptionEnd(state.directives, record && { subscriptionEnd: end }, timeZone);
  const action = reconcile({
    partner: policy.partner(partner),
    payload,
    payloadCategories: described.categories,
    digestOf: (p) => keys.payloadDigest(p),
    hostIds,
    directives,
    link,
    now: input.now,
    force: input.force ?? false,
    offboarding,
    unclearable: heldUnclearable(link, described.fields, input.cannotClear ?? []),
  });
  return {
    kind: 'ready',
    subjectId,
    partner,
    record,
    action,
    directives,
    payload,
    link,
    fields: described.fields,
    categories: described.categories,
    hostIds,
  };
}

/**
 * Whether the partner holds, by the link's record of what it was last sent, a field the payload now
 * lacks and the partner cannot clear (the policy stopped sending it): an update would leave it there.
 */
function heldUnclearable(link: StoredLink | null, fields: readonly string[], cannotClear: readonly string[]): boolean {
  if (!link?.holds || cannotClear.length === 0) return false;
  return link.lastFields.some(
    (held) => !fields.includes(held) && cannotClear.some((c) => held === c || held.startsWith(`${c}.`)),
  );
}

export function hostIdsOf(record: MasterRecord, partner: string): string[] {
  const ids = record.partnerIds[partner];
  return ids === undefined ? [] : Array.isArray(ids) ? ids : [ids];
}

export function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}
