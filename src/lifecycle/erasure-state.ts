import type { QueueState } from '../schedule/subject-jobs.ts';
import type { ErasureStatus, LifecycleDeps, PartnerErasureState } from './types.ts';

/**
 * Where each subject's erasure stands at each partner, from what the gateway knows: the links (what
 * a partner holds and whether it confirmed an erase), the queues (a job waiting, or a dead letter)
 * and the last erase outcome in the transfer log. Read-only; in bulk, because status() and the sweep
 * in processDueErasures() ask for every open erasure at once.
 */
export async function erasureStatuses(
  deps: Pick<LifecycleDeps, 'db' | 'policy' | 'adapters' | 'subjectJobs'>,
  subjectIds: readonly string[],
): Promise<Map<string, ErasureStatus>> {
  const ids = [...new Set(subjectIds)];
  const partners = deps.policy.partnerNames.filter((p) => deps.adapters.has(p));
  if (ids.length === 0) return new Map();
  const [subjects, tombstones, links, failures, queues] = await Promise.all([
    deps.db.query<{
      id: string;
      erasure_due_at: Date | null;
      erasure_reason: string | null;
      erasure_completed_at: Date | null;
    }>(`select id, erasure_due_at, erasure_reason, erasure_completed_at from subjects where id = any($1::text[])`, [
      ids,
    ]),
    deps.db.query<{ subject_id: string; reason: string }>(
      `select subject_id, reason from tombstones where subject_id = any($1::text[])`,
      [ids],
    ),
    deps.db.query<LinkFacts & { subject_id: string; partner: string }>(
      `select subject_id, partner, holds, jsonb_array_length(partner_ids) > 0 as has_ids, erased_at is not null as erased from links where subject_id = any($1::text[])`,
      [ids],
    ),
    deps.db.query<{ subject_id: string; partner: string }>(
      `select subject_id, partner from (
         select distinct on (subject_id, partner) subject_id, partner, outcome from transfer_log
         where kind = 'outcome' and operation = 'erase' and subject_id = any($1::text[]) and purged_at is null
         order by subject_id, partner, seq desc) last
       where outcome <> 'ok'`,
      [ids],
    ),
    deps.subjectJobs(ids),
  ]);
  const out = new Map<string, ErasureStatus>();
  for (const id of ids) {
    const subject = subjects.find((s) => s.id === id);
    const tombstone = tombstones.find((t) => t.subject_id === id);
    const queue = queues.get(id)!;
    out.set(id, {
      subjectId: id,
      dueAt: subject?.erasure_due_at ? new Date(subject.erasure_due_at) : null,
      reason: subject?.erasure_reason ?? tombstone?.reason ?? null,
      tombstoned: tombstone !== undefined,
      complete: Boolean(subject?.erasure_completed_at),
      completedAt: subject?.erasure_completed_at ? new Date(subject.erasure_completed_at) : null,
      partners: partners.map((partner) => ({
        partner,
        state: partnerState(
          deps.policy.partner(partner).collects.length > 0,
          links.find((l) => l.subject_id === id && l.partner === partner),
          queue,
          partner,
          failures.some((f) => f.subject_id === id && f.partner === partner),
        ),
        retainedAfterErasure: deps.adapters.get(partner)!.retainedAfterErasure,
      })),
    });
  }
  return out;
}

interface LinkFacts {
  readonly holds: boolean;
  readonly has_ids: boolean;
  readonly erased: boolean;
}

function partnerState(
  collects: boolean,
  link: LinkFacts | undefined,
  queue: QueueState,
  partner: string,
  lastEraseFailed: boolean,
): PartnerErasureState['state'] {
  // Ids the host gave us for a partner that collects directly (balena devices) mean it may hold data
  // we never sent, so it is not "nothing held" until it confirmed an erase. (An erased link keeps the
  // ids it erased, as a record: those no longer count.)
  const mayHold = Boolean(link?.holds) || (collects && Boolean(link?.has_ids) && !link?.erased);
  if (!mayHold && link?.erased) return 'confirmed';
  if (queue.dead.has(partner)) return 'failed';
  if (queue.queued.has(partner)) return 'pending';
  if (!mayHold) return 'nothing-held';
  // Still holds, nothing queued: a failed erase whose dead letter is gone stays visible as failed.
  return lastEraseFailed ? 'failed' : 'pending';
}

/** Every partner confirmed, or never held anything and has nothing left to do. */
export function allSettled(status: ErasureStatus): boolean {
  return status.partners.every((p) => p.state === 'confirmed' || p.state === 'nothing-held');
}

/** Subjects whose erasure is due (tombstoned, or past its due time) and not complete. */
export async function openErasures(deps: Pick<LifecycleDeps, 'db'>, now: Date): Promise<string[]> {
  const rows = await deps.db.query<{ id: string }>(
    `select t.subject_id as id from tombstones t left join subjects s on s.id = t.subject_id where s.erasure_completed_at is null
     union
     select id from subjects where erasure_due_at <= $1 and erasure_completed_at is null
     order by id`,
    [now],
  );
  return rows.map((r) => r.id);
}
