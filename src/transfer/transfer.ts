import type { Logger } from 'pino';
import { PartnerError, safeErrorCode, type CallContext } from '../adapter.ts';
import {
  closeIntents,
  prepareOutcomes,
  writeIntentRows,
  type IntentCopy,
  type IntentRow,
  type Outcome,
} from '../log/transfer-log.ts';
import type { Keys } from '../keys.ts';
import type { GatewayObserver } from '../observe.ts';
import type { Policy } from '../policy/index.ts';
import type { Database } from '../store/database.ts';
import type { ErasureMarks } from '../store/erased.ts';
import { assertSameKeyState, type PseudonymKeyState } from '../store/key-fingerprints.ts';
import { BatchDeadline } from '../schedule/batch-deadline.ts';
import { readIntentPrelude } from './intent-prelude.ts';
import { linksUpsert, markUncertain, NON_SENDING_OPERATIONS, type LinkUpdate } from '../store/state.ts';
import { runTogether } from '../store/statements.ts';
import type { RecordedId } from './log-ids.ts';
import type { Pacing } from './pacing.ts';

/**
 * transfer: the one path every outbound partner call takes (syncs, batches, erasures, suppressions,
 * actions, live fetches). For a set of calls to one partner, in a constant number of statements:
 * intent rows committed before any call (DESIGN §6: an attempt that died before its outcome is closed
 * as unknown by the next one), the calls paced (rate, Retry-After pause, calls in flight here and
 * across processes), every failure mapped to a PartnerError, then every outcome row and link in one
 * transaction after them. No transaction is ever held across a partner call.
 */

/** One subject a call is about. */
export interface TransferMember {
  readonly subjectId: string;
  readonly intent: MemberIntent;
  /**
   * The call sends the subject's data (an upsert, an action). Checked against the tombstone in the
   * transaction that writes the intent: nothing is sent for a subject once its erasure is committed.
   */
  readonly sendsData: boolean;
  /** The link to store once the partner confirmed, from the partner ids the subject has there afterwards. */
  readonly linkAfter?: ((partnerIds: readonly string[], currentId?: string) => LinkUpdate) | undefined;
}

export type MemberIntent = Pick<
  IntentRow,
  | 'operation'
  | 'trigger'
  | 'operator'
  | 'correlationId'
  | 'fields'
  | 'categories'
  | 'payloadDigest'
  | 'partnerId'
  | 'attempt'
>;

/** One partner call: a single operation, or one batch call carrying several subjects. */
export interface TransferUnit {
  readonly operation: string;
  readonly correlationId: string;
  readonly idempotencyKey: string;
  readonly members: readonly TransferMember[];
  /** Makes the call for the members still wanted: one result per member given, in order. */
  call(ctx: CallContext, members: readonly TransferMember[]): Promise<readonly MemberResult[]>;
}

export type MemberResult =
  | {
      readonly ok: true;
      readonly partnerIds: readonly string[];
      /** The id the partner answered with, when it names the subject's current record there. */
      readonly currentId?: string;
    }
  | { readonly ok: false; readonly error: PartnerError };

export type Settled =
  | { readonly member: TransferMember; readonly outcome: Outcome; readonly result: MemberResult }
  /** Dropped before the call: the subject was erased meanwhile. */
  | { readonly member: TransferMember; readonly outcome: 'skipped' };

export interface TransferDeps {
  readonly db: Database;
  readonly policy: Policy;
  readonly pacing: Pacing;
  readonly logger: Logger;
  readonly observer?: GatewayObserver | undefined;
  /** How partner ids are written into the log (a keyed reference where the id is personal). */
  readonly recordedId: RecordedId;
  /**
   * Reads the marks erased subjects leave after the retention purge (src/store/erased.ts); tags every
   * log row with the audit key.
   */
  readonly keys: ErasureMarks & Pick<Keys, 'audit'>;
  /**
   * The store's pseudonym key state this process works with: checked in every intent transaction, so
   * a process started before a key rotation sends nothing once the rotation began.
   */
  readonly keyState?: { readonly current: PseudonymKeyState } | undefined;
}

export interface RunOptions {
  /** The calls stop being made when it aborts (each one not made is a retryable not_sent). */
  readonly signal?: AbortSignal | undefined;
}

export interface Transfer {
  /** Runs the calls; per unit, one settled entry per member, in order. */
  run(partner: string, units: readonly TransferUnit[], options?: RunOptions): Promise<Settled[][]>;
  /** Whether the partner has a rate to keep (its calls then wait for their slots). */
  hasRate(partner: string): boolean;
}

export function createTransfer(deps: TransferDeps): Transfer {
  return {
    run: (partner, units, options = {}) => runUnits(deps, partner, units, options.signal),
    hasRate: (partner) => deps.pacing.hasRate(partner),
  };
}

/**
 * What a call in flight is aborted by: the batch's signal, except at its deadline, which only stops
 * new calls (a call cut off mid-request may have reached the partner, and the margin before the
 * expiry is there for it to finish).
 */
function inFlightSignal(batch: AbortSignal): AbortSignal {
  if (batch.aborted) return batch;
  const controller = new AbortController();
  batch.addEventListener(
    'abort',
    () => {
      if (!(batch.reason instanceof BatchDeadline)) controller.abort(batch.reason);
    },
    { once: true },
  );
  return controller.signal;
}

async function runUnits(
  deps: TransferDeps,
  partner: string,
  units: readonly TransferUnit[],
  signal: AbortSignal | undefined,
): Promise<Settled[][]> {
  const members = units.flatMap((u) => u.members);
  if (members.length === 0) return units.map(() => []);
  const partnerPolicy = deps.policy.partner(partner);
  const { erased, seqs, intents } = await deps.db.transaction(async (tx) => {
    const subjectIds = [...new Set(members.map((m) => m.subjectId))];
    const senders = [...new Set(members.filter((m) => m.sendsData).map((m) => m.subjectId))];
    // The key state, attempts that died, erased senders and the intents' slots: one statement.
    const prelude = await readIntentPrelude(tx, deps.keys, { partner, subjectIds, senders, intents: members.length });
    if (deps.keyState) assertSameKeyState(prelude.keyState, deps.keyState.current);
    const died = await closeIntents(tx, prelude.open, deps.keys.audit);
    await markUncertain(
      tx,
      partner,
      died.filter((d) => sends(d.operation)).map((d) => d.subjectId),
    );
    const erased = prelude.erased;
    const going = members.filter((m) => !(m.sendsData && erased.has(m.subjectId)));
    const written = await writeIntentRows(
      tx,
      going.map((m) => ({
        ...m.intent,
        partnerId: deps.recordedId(partner, m.intent.partnerId),
        subjectId: m.subjectId,
        partner,
        purpose: partnerPolicy.purpose,
        legalBasis: deps.policy.legalBasis(partner),
        policyDigest: deps.policy.digest,
      })),
      deps.keys.audit,
      // A died attempt's outcome took its slot after these: fresh ones then keep the log in order.
      died.length === 0 ? prelude.slots : undefined,
    );
    return {
      erased,
      seqs: new Map(going.map((m, i) => [m, written[i]!.seq])),
      // What the outcome rows copy, as written: they need not be read back.
      intents: new Map<string, IntentCopy>(written.map((w) => [w.seq, w])),
    };
  });

  const calls = units.map((unit) => async () => {
    const live = unit.members.filter((m) => seqs.has(m));
    if (live.length === 0) return { unit, live, results: [] as MemberResult[], durationMs: 0 };
    if (signal?.aborted) {
      // The batch lost its claim or reached its deadline before this call: it is not made, and the job
      // is retried (by whichever worker holds it then).
      const error = new PartnerError({ partner, operation: unit.operation, kind: 'retryable', code: 'not_sent' });
      return { unit, live, results: live.map(() => ({ ok: false as const, error })), durationMs: 0 };
    }
    const started = performance.now();
    const results = await unit
      .call(
        {
          correlationId: unit.correlationId,
          idempotencyKey: unit.idempotencyKey,
          ...(signal ? { signal: inFlightSignal(signal) } : {}),
        },
        live,
      )
      .then((r) => live.map((_, i) => r[i] ?? missingResult(partner, unit.operation)))
      .catch((error: unknown) =>
        live.map(() => ({ ok: false as const, error: asPartnerError(error, partner, unit.operation) })),
      );
    const durationMs = performance.now() - started;
    const retryAfterMs = results.flatMap((r) =>
      !r.ok && r.error.retryAfterMs !== undefined ? [r.error.retryAfterMs] : [],
    )[0];
    if (retryAfterMs !== undefined) {
      await deps.pacing.pause(partner, retryAfterMs);
      deps.observer?.paused?.(partner, retryAfterMs);
    }
    const failure = results.flatMap((r) => (r.ok ? [] : [r.error]))[0];
    deps.observer?.callSettled?.({
      partner,
      operation: unit.operation,
      outcome: failure ? outcomeOf(failure) : 'ok',
      subjects: live.length,
      durationMs,
      httpStatus: failure?.status,
      errorCode: failure?.code,
    });
    return { unit, live, results, durationMs };
  });
  const done = await deps.pacing.run(partner, calls, signal);

  const called = done.flatMap(({ live, results, durationMs }) =>
    live.map((member, i) => ({ member, result: results[i]!, durationMs })),
  );
  // The outcome rows and the links they confirm commit as one statement (two inserts in one): no
  // transaction, so two round trips (reserving the rows' slots, then this) rather than five on every
  // call's way back. The outcome rows copy the intents as written above, not as read back.
  const outcomes = await prepareOutcomes(
    deps.db,
    called.map(({ member, result, durationMs }) => {
      const intentSeq = seqs.get(member)!;
      return result.ok
        ? { intentSeq, outcome: 'ok' as const, partnerId: deps.recordedId(partner, result.partnerIds[0]), durationMs }
        : {
            intentSeq,
            outcome: outcomeOf(result.error),
            httpStatus: result.error.status,
            errorCode: result.error.code ?? result.error.kind,
            durationMs,
          };
    }),
    deps.keys.audit,
    intents,
  );
  const links = linksUpsert(
    partner,
    called.flatMap(({ member, result }) =>
      result.ok && member.linkAfter
        ? [{ subjectId: member.subjectId, update: member.linkAfter(result.partnerIds, result.currentId) }]
        : [],
    ),
  );
  // A call that sent data and may have been acted on leaves the partner possibly holding a record
  // under an id we never learned: the erasure has to look for it. (Those calls failed, so their
  // links are not among the confirmed ones: the two never touch one row.)
  const uncertain = called.flatMap(({ member, result }) =>
    !result.ok && sends(member.intent.operation) && outcomeOf(result.error) === 'unknown' ? [member.subjectId] : [],
  );
  if (uncertain.length === 0) await runTogether(deps.db, [outcomes, links]);
  else
    await deps.db.transaction(async (tx) => {
      await runTogether(tx, [outcomes, links]);
      await markUncertain(tx, partner, uncertain);
    });

  for (const { member, result } of called) logCall(deps.logger, partner, member, result);
  const byMember = new Map(called.map((c) => [c.member, c.result]));
  return units.map((unit) =>
    unit.members.map((member): Settled => {
      const result = byMember.get(member);
      if (!result) {
        if (!erased.has(member.subjectId)) throw new Error('transfer: a member neither called nor skipped');
        return { member, outcome: 'skipped' };
      }
      return { member, result, outcome: result.ok ? 'ok' : outcomeOf(result.error) };
    }),
  );
}

/**
 * 'unknown' when the request may have been acted on: the adapter says so, or it timed out, lost its
 * connection or was aborted after it could have been sent (a retry is still safe where the partner
 * honours the idempotency key, but a record may exist that the gateway has no id for).
 */
function outcomeOf(error: PartnerError): Outcome {
  if (error.kind === 'unknown') return 'unknown';
  if (error.kind === 'retryable' && (error.code === 'timeout' || error.code === 'connection_error')) {
    return NEVER_SENT.some((code) => error.message.includes(code)) ? 'failed' : 'unknown';
  }
  // Cut off by the gateway after the request had left: its jobs' claim was lost (a batch's deadline
  // stops only new calls, see inFlightSignal).
  if (error.kind === 'retryable' && error.code === 'aborted_in_flight') return 'unknown';
  return 'failed';
}

/** Connection failures that happen before a request can leave: nothing reached the partner. */
const NEVER_SENT = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'];

function sends(operation: string): boolean {
  return !(NON_SENDING_OPERATIONS as readonly string[]).includes(operation);
}

function logCall(logger: Logger, partner: string, member: TransferMember, result: MemberResult): void {
  const base = {
    subjectId: member.subjectId,
    partner,
    operation: member.intent.operation,
    correlationId: member.intent.correlationId,
  };
  if (result.ok) logger.info({ ...base, fields: member.intent.fields }, 'transfer ok');
  else {
    const e = result.error;
    logger.warn({ ...base, status: e.status, code: e.code, kind: e.kind }, 'transfer failed');
  }
}

function missingResult(partner: string, operation: string): MemberResult {
  return { ok: false, error: new PartnerError({ partner, operation, kind: 'retryable', code: 'missing_result' }) };
}

/** Anything not a PartnerError is a bug or an unwrapped network error: retry it, never echo its message. */
export function asPartnerError(error: unknown, partner: string, operation: string): PartnerError {
  if (error instanceof PartnerError) return error;
  return new PartnerError({
    partner,
    operation,
    kind: 'retryable',
    code: safeErrorCode((error as { code?: unknown })?.code) ?? 'unexpected_error',
    detail: (error as Error)?.name,
  });
}
