/**
 * The register of data subjects' requests (GDPR Art. 12): every access, rectification, restriction,
 * erasure and objection request, when it arrived and how, how the requester was verified (the notice
 * asks for a signed request), when it is due (one month after receipt, Art. 12(3), or the extended
 * date) and when and how it was answered. Registering a request does not carry it out: an erasure
 * request is erased with erase() once verified, an access request is answered with access(id, {
 * requestId }). What reaches the transfer log is the event and the request id, never a reference,
 * a reason or anything the requester wrote.
 */
import { touchSubject } from '../store/state.ts';
import { inputs, LifecycleInputError } from './inputs.ts';
import { requestDueAt } from './requests-due.ts';
import { requestInputs } from './requests-inputs.ts';
import type { LifecycleDeps, RequestRegister, RequestSummary, SubjectRequest } from './types.ts';

interface RequestRow {
  id: string;
  subject_id: string;
  kind: SubjectRequest['kind'];
  received_at: Date;
  channel: string;
  reference: string | null;
  verified_at: Date | null;
  verification: string | null;
  verification_reference: string | null;
  due_at: Date;
  extended_to: Date | null;
  extension_reason: string | null;
  answered_at: Date | null;
  answer_channel: string | null;
  answer_reference: string | null;
  outcome: SubjectRequest['outcome'];
  operator: string | null;
}

const COLUMNS = `id::text as id, subject_id, kind, received_at, channel, reference, verified_at, verification,
  verification_reference, due_at, extended_to, extension_reason, answered_at, answer_channel, answer_reference,
  outcome, operator`;

/** Overdue first (most overdue first), then open by due date, then answered, latest first. */
const ORDER = `order by (answered_at is null and coalesce(extended_to, due_at) < $NOW) desc, (answered_at is null) desc,
  case when answered_at is null then coalesce(extended_to, due_at) end asc, answered_at desc, id`;

const DAY = 24 * 3600 * 1000;

export function createRequestRegister(deps: LifecycleDeps): RequestRegister {
  const timeZone = deps.policy.document.retention.timeZone;
  const rights = deps.policy.document.rights;

  const toRequest = (row: RequestRow, now: Date): SubjectRequest => {
    const date = (d: Date | null) => (d ? new Date(d) : null);
    const dueAt = new Date(row.extended_to ?? row.due_at);
    return {
      id: row.id,
      subjectId: row.subject_id,
      kind: row.kind,
      receivedAt: new Date(row.received_at),
      channel: row.channel,
      reference: row.reference,
      verifiedAt: date(row.verified_at),
      verification: row.verification,
      verificationReference: row.verification_reference,
      originalDueAt: new Date(row.due_at),
      extendedTo: date(row.extended_to),
      extensionReason: row.extension_reason,
      dueAt,
      answeredAt: date(row.answered_at),
      answerChannel: row.answer_channel,
      answerReference: row.answer_reference,
      outcome: row.outcome,
      operator: row.operator,
      state: row.answered_at ? 'answered' : dueAt.getTime() < now.getTime() ? 'overdue' : 'open',
    };
  };

  const load = async (id: string): Promise<RequestRow> => {
    const [row] = await deps.db.query<RequestRow>(`select ${COLUMNS} from subject_requests where id = $1`, [id]);
    if (!row) throw new LifecycleInputError(`request ${id} is not in the register`);
    return row;
  };

  const event = async (row: RequestRow, operation: string, operator: string | undefined) => {
    // The operation names the kind; the log row carries no reference, reason or channel.
    await deps.logEvent({
      subjectId: row.subject_id,
      operation: `request_${operation}:${row.kind}`,
      trigger: 'ops',
      ...(operator ? { operator } : {}),
    });
  };

  const update = async (id: string, set: string, params: unknown[], operator: string | undefined, op: string) => {
    const [row] = await deps.db.query<RequestRow>(
      `update subject_requests set ${set} where id = $1 returning ${COLUMNS}`,
      [id, ...params],
    );
    await event(row!, op, operator);
    return toRequest(row!, deps.now());
  };

  const openOnly = (row: RequestRow, what: string) => {
    if (row.answered_at) throw new LifecycleInputError(`request ${row.id} was answered already: it cannot be ${what}`);
  };

  const register: RequestRegister = {
    receive: async (subjectId, input) => {
      const id = inputs.subjectId(subjectId);
      const now = deps.now();
      const kind = requestInputs.kind(input?.kind);
      const channel = requestInputs.channel(input?.channel, 'request channel');
      const reference = requestInputs.reference(input?.reference, 'request reference');
      const receivedAt = input?.receivedAt === undefined ? now : requestInputs.at(input.receivedAt, 'receivedAt', now);
      const operator = inputs.operator(input?.operator);
      const dueAt = requestDueAt(receivedAt, rights.answerWithinMonths, timeZone);
      const row = await deps.db.transaction(async (tx) => {
        // The subject's row stands until the retention purge removes it: the register's own purge
        // takes that as the sign that the subject's records are gone.
        await touchSubject(tx, id);
        const [inserted] = await tx.query<RequestRow>(
          `insert into subject_requests (subject_id, kind, received_at, channel, reference, due_at, operator)
           values ($1, $2, $3, $4, $5, $6, $7) returning ${COLUMNS}`,
          [id, kind, receivedAt, channel, reference, dueAt, operator ?? null],
        );
        return inserted;
      });
      await event(row!, 'received', operator);
      return toRequest(row!, now);
    },

    verify: async (requestId, input) => {
      const id = requestInputs.id(requestId);
      const now = deps.now();
      const method = requestInputs.method(input?.method);
      const reference = requestInputs.reference(input?.reference, 'verification reference');
      const at = input?.at === undefined ? now : requestInputs.at(input.at, 'verification time', now);
      const operator = inputs.operator(input?.operator);
      const row = await load(id);
      openOnly(row, 'verified');
      if (at.getTime() < new Date(row.received_at).getTime())
        throw new LifecycleInputError(`request ${id} cannot be verified before it was received`);
      return update(
        id,
        `verified_at = $2, verification = $3, verification_reference = $4`,
        [at, method, reference],
        operator,
        'verified',
      );
    },

    extend: async (requestId, input) => {
      const id = requestInputs.id(requestId);
      const now = deps.now();
      const months = requestInputs.months(input?.months, rights.maxExtensionMonths);
      const reason = requestInputs.reason(input?.reason);
      const operator = inputs.operator(input?.operator);
      if (rights.maxExtensionMonths === 0) throw new LifecycleInputError('the policy allows no extension of requests');
      const row = await load(id);
      openOnly(row, 'extended');
      // Art. 12(3): the requester must be told of an extension, and why, within the first month.
      if (now.getTime() > new Date(row.due_at).getTime())
        throw new LifecycleInputError(
          `request ${id} is past its first month: an extension had to be given (and the requester told why) by then`,
        );
      const extendedTo = requestDueAt(new Date(row.received_at), rights.answerWithinMonths + months, timeZone);
      return update(id, `extended_to = $2, extension_reason = $3`, [extendedTo, reason], operator, 'extended');
    },

    answer: async (requestId, input) => {
      const id = requestInputs.id(requestId);
      const now = deps.now();
      const channel = requestInputs.channel(input?.channel, 'answer channel');
      const outcome = input?.outcome === undefined ? 'fulfilled' : requestInputs.outcome(input.outcome);
      const reference = requestInputs.reference(input?.reference, 'answer reference');
      const at = input?.at === undefined ? now : requestInputs.at(input.at, 'answer time', now);
      const operator = inputs.operator(input?.operator);
      const row = await load(id);
      openOnly(row, 'answered again');
      if (at.getTime() < new Date(row.received_at).getTime())
        throw new LifecycleInputError(`request ${id} cannot be answered before it was received`);
      // An identity not yet verified can only be refused (or the request withdrawn): nothing may be
      // disclosed or changed for someone who has not shown they are the subject.
      if (!row.verified_at && (outcome === 'fulfilled' || outcome === 'partly-fulfilled'))
        throw new LifecycleInputError(
          `request ${id} is not verified: verify the requester first, or answer it as refused or withdrawn`,
        );
      return update(
        id,
        `answered_at = $2, answer_channel = $3, answer_reference = $4, outcome = $5`,
        [at, channel, reference, outcome],
        operator,
        'answered',
      );
    },

    get: async (requestId) => toRequest(await load(requestInputs.id(requestId)), deps.now()),

    list: async (filter = {}) => {
      const now = deps.now();
      const where: string[] = [];
      const params: unknown[] = [now];
      if (filter.subjectId !== undefined) {
        params.push(inputs.subjectId(filter.subjectId));
        where.push(`subject_id = $${params.length}`);
      }
      if (filter.kind !== undefined) {
        params.push(requestInputs.kind(filter.kind));
        where.push(`kind = $${params.length}`);
      }
      if (filter.open) where.push('answered_at is null');
      const rows = await deps.db.query<RequestRow>(
        `select ${COLUMNS} from subject_requests ${where.length > 0 ? `where ${where.join(' and ')}` : ''}
         ${ORDER.replaceAll('$NOW', '$1::timestamptz')} limit 10000`,
        params,
      );
      return rows.map((r) => toRequest(r, now));
    },

    overdue: async () => {
      const now = deps.now();
      const rows = await deps.db.query<RequestRow>(
        `select ${COLUMNS} from subject_requests where answered_at is null and coalesce(extended_to, due_at) < $1
         order by coalesce(extended_to, due_at), id limit 10000`,
        [now],
      );
      return rows.map((r) => toRequest(r, now));
    },

    summary: async (): Promise<RequestSummary> => {
      const now = deps.now();
      const [row] = await deps.db.query<{
        open: number;
        overdue: number;
        unverified: number;
        due_soon: number;
        oldest: Date | null;
      }>(
        `select count(*)::int as open,
           (count(*) filter (where coalesce(extended_to, due_at) < $1))::int as overdue,
           (count(*) filter (where verified_at is null))::int as unverified,
           (count(*) filter (where coalesce(extended_to, due_at) >= $1 and coalesce(extended_to, due_at) < $2))::int as due_soon,
           min(coalesce(extended_to, due_at)) filter (where coalesce(extended_to, due_at) < $1) as oldest
         from subject_requests where answered_at is null`,
        [now, new Date(now.getTime() + 7 * DAY)],
      );
      return {
        open: row?.open ?? 0,
        overdue: row?.overdue ?? 0,
        unverified: row?.unverified ?? 0,
        dueSoon: row?.due_soon ?? 0,
        oldestOverdueDueAt: row?.oldest ? new Date(row.oldest) : null,
      };
    },

    purgeExpired: () => purgeExpiredRequests(deps),
  };
  return register;
}

/**
 * Retention for the register: an answered request is the company's proof that it answered, so it is
 * kept one retention period after the answer, and goes once the subject's other rows are gone:
 * receive() makes sure the subject has a `subjects` row, and only the retention purge (one retention
 * period after the relationship ended, nothing left at any partner) removes it. An open request is
 * never purged: it is still owed. Call it after the retention purge of the subject's other rows
 * (purgeExpired in retention.ts).
 */
export async function purgeExpiredRequests(deps: Pick<LifecycleDeps, 'db' | 'policy' | 'now' | 'logEvent' | 'logger'>) {
  const cutoff = new Date(deps.now().getTime());
  cutoff.setUTCFullYear(
    cutoff.getUTCFullYear() - deps.policy.document.retention.gatewayRecordsAfterRelationshipEnds.years,
  );
  const purged = await deps.db.query(
    `delete from subject_requests r where r.answered_at is not null and r.answered_at <= $1
       and not exists (select 1 from subjects s where s.id = r.subject_id)
     returning r.id`,
    [cutoff],
  );
  if (purged.length > 0) {
    // As the retention purge: no subject id and no count in the row; the count goes to the ops log.
    await deps.logEvent({ operation: 'requests_purge', trigger: 'retention' });
    deps.logger.info({ requestsPurged: purged.length }, 'retention purge of the request register');
  }
  return purged.length;
}
