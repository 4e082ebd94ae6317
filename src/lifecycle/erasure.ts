import { allSettled, erasureFacts, erasureStatuses, openErasures } from './erasure-state.ts';
import { errorKind, owedHooks, runHook } from './host-hooks.ts';
import { closeOpenIntents, RESERVED_SLOT, type Slot } from '../log/transfer-log.ts';
import { erasureDueAt } from '../erasure-schedule.ts';
import { readRecord } from '../plan/plan.ts';
import { getRecords } from '../source.ts';
import { NON_SENDING_OPERATIONS, noteSubscription } from '../store/state.ts';
import { inputs, LifecycleInputError } from './inputs.ts';
import {
  erasureResolutions,
  type ErasureStatus,
  type Lifecycle,
  type LifecycleDeps,
  type LifecycleInternals,
} from './types.ts';

/** Due subjects read from the host per round trip. */
const DUE_PAGE = 500;

type ErasureApi = Pick<
  Lifecycle,
  'erase' | 'erasureStatus' | 'pendingErasures' | 'processDueErasures' | 'resolveErasure'
> &
  LifecycleInternals;

/**
 * Erasure: the tombstone is written first, so from that moment nothing re-creates the subject at any
 * partner (reconcile reads it); then every partner with an adapter gets a reconcile job, including
 * partners we send nothing (they may hold what they collected: Resin's devices, Twilio's calls).
 * Completion is level-triggered too: it is checked after each confirmed erase and again by every
 * processDueErasures(), so an erasure whose last step raced, or whose hook failed, is finished later
 * rather than forgotten.
 */
export function createErasure(deps: LifecycleDeps): ErasureApi {
  const status = async (subjectId: string): Promise<ErasureStatus> =>
    (await erasureStatuses(deps, [subjectId])).get(subjectId)!;

  /** Marks the erasure complete once every partner settled, and tells the host (once). */
  const settle = async (subjectId: string, partnerStatus?: ErasureStatus): Promise<void> => {
    // Every partner's job calls this when it is done: while another partner still holds the subject,
    // one cheap statement says "not yet" instead of the seven reads of a full status.
    if (!partnerStatus && (await stillHeld(subjectId))) return;
    const current = partnerStatus ?? (await status(subjectId));
    if (current.complete || !allSettled(current)) return;
    const now = deps.now();
    // The update is the claim: of two workers confirming the last partners at once, one wins. The
    // same statement reserves the erasure_complete row's seq and time.
    const [slot] = await deps.db.query<Slot>(
      `with claimed as (
         update subjects set erasure_completed_at = $2
         where id = $1 and erasure_completed_at is null
           and (erasure_due_at <= $2 or exists (select 1 from tombstones t where t.subject_id = $1))
         returning id)
       select slot.* from claimed cross join ${RESERVED_SLOT} slot`,
      [subjectId, now],
    );
    if (!slot) return;
    await deps.logEvent({ subjectId, operation: 'erasure_complete', trigger: 'erasure' }, slot);
    await runHook(deps, 'erased', subjectId);
  };

  /**
   * A partner with an adapter still holds the subject, or the camera hook has not run: either keeps
   * the erasure from being complete (see allSettled), so the full status need not be read.
   */
  const stillHeld = async (subjectId: string): Promise<boolean> => {
    const [row] = await deps.db.query<{ held: boolean }>(
      `select exists (select 1 from links where subject_id = $1 and holds and partner = any($2::text[]))
         or exists (select 1 from subjects where id = $1 and camera_anonymised_at is null) as held`,
      [subjectId, [...deps.adapters.keys()]],
    );
    return row?.held ?? false;
  };

  const startErasure = async (subjectId: string, operator: string | undefined) => {
    await deps.enqueueSubject(subjectId, 'erasure', operator ? { operator } : {});
    await runHook(deps, 'anonymiseCameraData', subjectId);
  };

  return {
    erase: async (subjectId, options) => {
      const id = inputs.subjectId(subjectId);
      const reason = inputs.reason(options?.reason, 'erasure reason');
      const operator = inputs.operator(options?.operator);
      const now = deps.now();
      // One statement (so one round trip, committed as one): the subject due now (an erasure request
      // also ends the relationship, which starts the retention clock), its tombstone, and the seq and
      // time of the erasure_requested row, written next (before any job, so it precedes their rows).
      const [slot] = await deps.db.query<Slot>(
        `with subject as (
           insert into subjects (id, erasure_due_at, erasure_reason, relationship_ended_at) values ($1, $2, $3, $2)
           on conflict (id) do update set
             erasure_reason = case when subjects.erasure_due_at is null or subjects.erasure_due_at > excluded.erasure_due_at
               then excluded.erasure_reason else subjects.erasure_reason end,
             erasure_due_at = least(coalesce(subjects.erasure_due_at, 'infinity'), excluded.erasure_due_at),
             relationship_ended_at = coalesce(subjects.relationship_ended_at, excluded.relationship_ended_at)
         ), tombstone as (
           insert into tombstones (subject_id, at, reason, operator) values ($1, $2, $3, $4) on conflict (subject_id) do nothing
         )
         select slot.* from ${RESERVED_SLOT} slot`,
        [id, now, reason, operator ?? null],
      );
      await deps.logEvent(
        { subjectId: id, operation: 'erasure_requested', trigger: 'erasure', ...(operator ? { operator } : {}) },
        slot,
      );
      await startErasure(id, operator);
      return status(id);
    },

    erasureStatus: async (subjectId) => status(inputs.subjectId(subjectId)),

    pendingErasures: async () => {
      const statuses = await erasureStatuses(deps, await openErasures(deps, deps.now()));
      return [...statuses.values()];
    },

    processDueErasures: async () => {
      const now = deps.now();
      let tombstoned = 0;
      // In pages, by id: a page's deferred subjects (record unreadable now) do not hold up the next.
      for (let after = ''; ;) {
        const page = await deps.db.query<{ id: string }>(
          `select id from subjects s
           where erasure_due_at <= $1 and id > $2 and not exists (select 1 from tombstones t where t.subject_id = s.id)
           order by id limit ${DUE_PAGE}`,
          [now, after],
        );
        if (page.length === 0) break;
        after = page[page.length - 1]!.id;
        const due = await deps.db.query<{ id: string }>(
          `insert into tombstones (subject_id, at, reason)
           select id, $1, coalesce(erasure_reason, 'erasure-due') from subjects s
           where id = any($2::text[]) and erasure_due_at <= $1
           on conflict (subject_id) do nothing
           returning subject_id as id`,
          [
            now,
            await stillDue(
              deps,
              page.map((c) => c.id),
              now,
            ),
          ],
        );
        for (const { id } of due) {
          await deps.logEvent({ subjectId: id, operation: 'erasure_due', trigger: 'erasure' });
          await startErasure(id, undefined);
        }
        tombstoned += due.length;
        if (page.length < DUE_PAGE) break;
      }
      await sweep();
      return tombstoned;
    },

    resolveErasure: async (subjectId, partner, options) => {
      const id = inputs.subjectId(subjectId);
      if (!deps.policy.partnerNames.includes(partner)) throw new LifecycleInputError('partner is not in the policy');
      const resolution = options?.resolution;
      if (!erasureResolutions.includes(resolution)) {
        throw new LifecycleInputError(`resolution must be one of ${erasureResolutions.join(', ')}`);
      }
      const operator = inputs.operator(options.operator);
      if (!operator) throw new LifecycleInputError('operator is required: who looked at the partner is logged');
      const resolved = await deps.db.transaction(async (tx) => {
        // Attempts that died are recorded as unknown first, so the log says what was resolved.
        const died = await closeOpenIntents(tx, [id], partner, deps.keys.audit);
        const rows = await tx.query(
          `update links set uncertain_since = null, conflict_since = null, updated_at = clock_timestamp()
           where subject_id = $1 and partner = $2 and (uncertain_since is not null or conflict_since is not null)
           returning subject_id`,
          [id, partner],
        );
        return (
          rows.length > 0 || died.some((d) => !(NON_SENDING_OPERATIONS as readonly string[]).includes(d.operation))
        );
      });
      if (!resolved)
        throw new LifecycleInputError(
          `nothing to resolve at ${partner} for this subject (no unknown outcome, no conflict)`,
        );
      // The resolution names a fixed word, never the operator's notes: the log holds no free text.
      await deps.logEvent({
        subjectId: id,
        partner,
        operation: `erasure_resolved:${resolution}`,
        trigger: 'ops',
        operator,
      });
      await settle(id);
      return status(id);
    },

    onPartnerErased: async (subjectId) => {
      // Called by a worker after its outcome row committed: a failure here must not fail that job.
      try {
        await settle(subjectId);
      } catch (error) {
        deps.logger.error(
          { subjectId, error: errorKind(error) },
          'erasure completion check failed; processDueErasures() checks again',
        );
      }
    },
  };

  /** Finishes what an earlier pass could not: late completions, lost jobs, failed hooks. */
  async function sweep(): Promise<void> {
    for (const id of await owedHooks(deps, 'anonymiseCameraData')) await runHook(deps, 'anonymiseCameraData', id);
    const open = await erasureFacts(deps, await openErasures(deps, deps.now()));
    for (const { status: current, lost } of open.values()) {
      // A partner that still holds with no job (none waiting, none in flight) and no dead letter lost
      // its job: enqueue it again. Dead letters stay put: they wait for an operator (redrive), visible
      // as 'failed'. A job in flight is not lost: a second one beside it would erase again after the
      // first failed for good.
      if (lost.length > 0) await deps.enqueueSubject(current.subjectId, 'erasure', { partners: lost });
      await settle(current.subjectId, current);
    }
    for (const id of await owedHooks(deps, 'erased')) await runHook(deps, 'erased', id);
  }
}

/**
 * The subjects whose erasure the master record still calls due. Level-triggered: a renewal the
 * workers have not seen yet (the end removed, or moved later) reschedules instead of erasing. A
 * record that is gone leaves the erasure due; one that cannot be read now defers it to the next run.
 */
async function stillDue(deps: LifecycleDeps, ids: readonly string[], now: Date): Promise<string[]> {
  if (!deps.source || ids.length === 0) return [...ids];
  const reads = await getRecords(deps.source, ids);
  const timeZone = deps.policy.document.retention.timeZone;
  const due: string[] = [];
  let deferred = 0;
  for (const id of ids) {
    const read = reads.get(id)!;
    const parsed = read.ok ? readRecord(id, read.record) : undefined;
    if (!parsed?.ok) {
      deferred++;
      continue;
    }
    const end = parsed.record ? (parsed.record.subscription?.end ?? null) : undefined;
    const dueAt = end ? erasureDueAt(end, timeZone) : null;
    if (end === undefined || (dueAt && dueAt.getTime() <= now.getTime())) due.push(id);
    else {
      await noteSubscription(deps.db, id, end, dueAt);
      await deps.logEvent({
        subjectId: id,
        operation: dueAt ? 'erasure_moved' : 'erasure_cancelled',
        trigger: 'erasure',
      });
    }
  }
  if (deferred > 0) {
    deps.logger.warn(
      { subjects: deferred },
      'due erasures deferred: the master record could not be read; retried next run',
    );
  }
  return due;
}
