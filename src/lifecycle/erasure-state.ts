import type { QueueState } from '../schedule/subject-jobs.ts';
import { openSendingIntents } from '../store/state.ts';
import type { ErasureGap, ErasureStatus, LifecycleDeps, PartnerErasureState } from './types.ts';

/**
 * Where each subject's erasure stands at each partner of the policy, from what the gateway knows:
 * the links (what a partner holds and whether it confirmed an erase), the queues (a job waiting, or a
 * dead letter), the last erase outcome in the transfer log, the erasures operators recorded by hand
 * at partners without an adapter, and the host's camera hook. Read-only; in bulk, because status()
 * and the sweep in processDueErasures() ask for every open erasure at once.
 */
export async function erasureStatuses(
  deps: Pick<LifecycleDeps, 'db' | 'policy' | 'adapters' | 'subjectJobs' | 'now'>,
  subjectIds: readonly string[],
): Promise<Map<string, ErasureStatus>> {
  return new Map([...(await erasureFacts(deps, subjectIds))].map(([id, f]) => [id, f.status]));
}

/**
 * The status, and the partners whose job is lost: 'pending' with no job waiting, none being worked
 * on and no dead letter. Only those may be enqueued again: a job in flight is pending too, and a
 * second one queued beside it would erase again after the first failed for good.
 */
export async function erasureFacts(
  deps: Pick<LifecycleDeps, 'db' | 'policy' | 'adapters' | 'subjectJobs' | 'now'>,
  subjectIds: readonly string[],
): Promise<Map<string, { status: ErasureStatus; lost: string[] }>> {
  const ids = [...new Set(subjectIds)];
  if (ids.length === 0) return new Map();
  const [subjects, tombstones, links, failures, manual, queues, unsettled] = await Promise.all([
    deps.db.query<SubjectRow>(
      `select id, erasure_due_at, erasure_reason, erasure_completed_at, camera_anonymised_at,
         camera_hook_attempts, camera_hook_next_at, camera_hook_failing_since
       from subjects where id = any($1::text[])`,
      [ids],
    ),
    deps.db.query<{ subject_id: string; reason: string; at: Date }>(
      `select subject_id, reason, at from tombstones where subject_id = any($1::text[])`,
      [ids],
    ),
    deps.db.query<LinkFacts & { subject_id: string; partner: string }>(
      `select subject_id, partner, holds, jsonb_array_length(partner_ids) > 0 as has_ids, erased_at is not null as erased,
         uncertain_since, conflict_since from links where subject_id = any($1::text[])`,
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
    deps.db.query<{ subject_id: string; partner: string }>(
      `select subject_id, partner from manual_erasures where subject_id = any($1::text[])`,
      [ids],
    ),
    deps.subjectJobs(ids),
    openSendingIntents(deps.db, ids),
  ]);
  const now = deps.now();
  // A former partner (an adapter the policy no longer names, being offboarded) is erased too: the
  // erasure is not complete while it may still hold the subject.
  const erasurePartners = [
    ...deps.policy.partnerNames,
    ...[...deps.adapters.keys()].filter((p) => !deps.policy.partnerNames.includes(p)),
  ];
  const out = new Map<string, { status: ErasureStatus; lost: string[] }>();
  for (const id of ids) {
    const subject = subjects.find((s) => s.id === id);
    const tombstone = tombstones.find((t) => t.subject_id === id);
    const queue = queues.get(id)!;
    const partners = erasurePartners.map((partner): PartnerErasureState => {
      const adapter = deps.adapters.get(partner);
      const link = links.find((l) => l.subject_id === id && l.partner === partner);
      const uncertainSince = link?.uncertain_since ? new Date(link.uncertain_since) : null;
      const conflictSince = link?.conflict_since ? new Date(link.conflict_since) : null;
      if (!adapter)
        return {
          partner,
          state: manual.some((m) => m.subject_id === id && m.partner === partner) ? 'erased-manually' : 'no-adapter',
          uncertainSince,
          conflictSince,
          // Without an adapter, the policy is the only word on what the partner keeps.
          retainedAfterErasure: deps.policy.partner(partner).keepsAfterErasure.map((k) => k.en),
        };
      return {
        partner,
        state: partnerState({
          collects: deps.policy.partner(partner).collects.length > 0,
          link,
          queue,
          partner,
          lastEraseFailed: failures.some((f) => f.subject_id === id && f.partner === partner),
          openIntent: unsettled.some((u) => u.subject_id === id && u.partner === partner),
          uncertain: uncertainSince !== null,
          searchable: adapter.find !== undefined,
        }),
        uncertainSince,
        conflictSince,
        retainedAfterErasure: adapter.retainedAfterErasure,
      };
    });
    const dueAt = subject?.erasure_due_at ? new Date(subject.erasure_due_at) : null;
    // The erasure started when it was tombstoned, or (not swept yet) when it fell due.
    const startedAt = tombstone ? new Date(tombstone.at) : dueAt && dueAt <= now ? dueAt : null;
    const complete = Boolean(subject?.erasure_completed_at);
    const lost = partners
      .filter((p) => p.state === 'pending' && !queue.queued.has(p.partner) && !queue.active.has(p.partner))
      .map((p) => p.partner);
    const status: ErasureStatus = {
      subjectId: id,
      dueAt,
      reason: subject?.erasure_reason ?? tombstone?.reason ?? null,
      tombstoned: tombstone !== undefined,
      complete,
      completedAt: subject?.erasure_completed_at ? new Date(subject.erasure_completed_at) : null,
      partners,
      missing: complete || !startedAt ? [] : [...partnerGaps(partners, startedAt), ...hookGaps(subject, startedAt)],
    };
    out.set(id, { status, lost });
  }
  return out;
}

interface SubjectRow {
  id: string;
  erasure_due_at: Date | null;
  erasure_reason: string | null;
  erasure_completed_at: Date | null;
  camera_anonymised_at: Date | null;
  camera_hook_attempts: number;
  camera_hook_next_at: Date | null;
  camera_hook_failing_since: Date | null;
}

interface LinkFacts {
  readonly holds: boolean;
  readonly has_ids: boolean;
  readonly erased: boolean;
  readonly uncertain_since: Date | null;
  readonly conflict_since: Date | null;
}

function partnerState(facts: {
  readonly collects: boolean;
  readonly link: LinkFacts | undefined;
  readonly queue: QueueState;
  readonly partner: string;
  readonly lastEraseFailed: boolean;
  /** A call that sent data has no outcome yet: its worker died, or it is in flight. */
  readonly openIntent: boolean;
  /** A call that sent data ended with its outcome unknown, and nothing has settled that since. */
  readonly uncertain: boolean;
  /** The adapter can search the partner for what a lost answer left (find). */
  readonly searchable: boolean;
}): PartnerErasureState['state'] {
  const { link, queue, partner } = facts;
  // Ids the host gave us for a partner that collects directly (balena devices) mean it may hold data
  // we never sent, so it is not "nothing held" until it confirmed an erase. (An erased link keeps the
  // ids it erased, as a record: those no longer count.)
  const idsHeld = Boolean(link?.holds) || (facts.collects && Boolean(link?.has_ids) && !link?.erased);
  const mayHold = idsHeld || facts.uncertain || facts.openIntent;
  // What another live subject claims was left in place: only an operator can say whose it is.
  if (link?.conflict_since) return 'conflict';
  if (!mayHold && link?.erased) return 'confirmed';
  if (queue.dead.has(partner)) return 'failed';
  if (queue.queued.has(partner)) return 'pending';
  // A job being worked on with nothing left to hold ends with nothing to do: the partner is settled,
  // so the job that settles it can complete the erasure (see settle in erasure.ts).
  if (!mayHold) return 'nothing-held';
  if (queue.active.has(partner)) return 'pending';
  // Only an unknown outcome is left, and no search can settle it: an operator has to.
  if (!idsHeld && !facts.openIntent && !facts.searchable) return 'unknown';
  // Still holds, nothing queued: a failed erase whose dead letter is gone stays visible as failed.
  return facts.lastEraseFailed ? 'failed' : 'pending';
}

const partnerDetail: Partial<Record<PartnerErasureState['state'], Pick<ErasureGap, 'kind' | 'detail'>>> = {
  pending: { kind: 'partner', detail: 'erase not confirmed yet' },
  failed: { kind: 'partner', detail: 'erase failed (dead letter or last attempt failed)' },
  'no-adapter': { kind: 'no-adapter', detail: 'no adapter configured: erase there by hand, then record it' },
};

function partnerGaps(partners: readonly PartnerErasureState[], since: Date): ErasureGap[] {
  return partners.flatMap((p) => {
    // An unknown outcome or a conflict has its own start: the call whose answer was lost, the erase
    // that left another subject's record in place.
    if (p.state === 'unknown' || (p.uncertainSince && p.state === 'pending'))
      return [
        {
          kind: 'unknown-outcome' as const,
          partner: p.partner,
          since: p.uncertainSince ?? since,
          detail:
            p.state === 'unknown'
              ? 'a call whose answer was lost may have left a record the partner cannot be searched for: look, then resolve it'
              : 'a call whose answer was lost may have left a record: the erase searches the partner for it',
        },
      ];
    if (p.state === 'conflict')
      return [
        {
          kind: 'conflict' as const,
          partner: p.partner,
          since: p.conflictSince ?? since,
          detail: 'a record there is claimed by another live subject too: settle whose it is, then resolve it',
        },
      ];
    const gap = partnerDetail[p.state];
    return gap ? [{ ...gap, partner: p.partner, since }] : [];
  });
}

function hookGaps(subject: SubjectRow | undefined, startedAt: Date): ErasureGap[] {
  if (subject?.camera_anonymised_at) return [];
  const attempts = subject?.camera_hook_attempts ?? 0;
  const next = subject?.camera_hook_next_at ? new Date(subject.camera_hook_next_at).toISOString() : null;
  return [
    {
      kind: 'hook',
      hook: 'anonymiseCameraData',
      since: subject?.camera_hook_failing_since ? new Date(subject.camera_hook_failing_since) : startedAt,
      detail: attempts === 0 ? 'not run yet' : `failed ${attempts} time(s)${next ? `, next attempt at ${next}` : ''}`,
    },
  ];
}

/** Nothing missing: every partner confirmed, held nothing or was erased by hand, and the camera hook ran. */
export function allSettled(status: ErasureStatus): boolean {
  return (
    status.missing.length === 0 &&
    status.partners.every((p) => p.state === 'confirmed' || p.state === 'nothing-held' || p.state === 'erased-manually')
  );
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
