import { deadLetterQueue, reconcileQueue } from './job.ts';
import type { Database } from '../store/database.ts';

/** Per subject, the partners with a reconcile job waiting or running, and those with a dead letter. */
export interface QueueState {
  /** Partners with a job waiting (created, or retrying later). */
  readonly queued: ReadonlySet<string>;
  /** Partners with a job being worked on now. */
  readonly active: ReadonlySet<string>;
  readonly dead: ReadonlySet<string>;
}

/**
 * Reads pg-boss's job table in bulk (findJobs asks one subject of one queue at a time), so an erasure's status
 * can tell "still being worked on" from "gave up". Jobs are keyed by subject (singleton key).
 */
export async function subjectJobs(
  db: Database,
  subjectIds: readonly string[],
  partners: readonly string[],
): Promise<Map<string, QueueState>> {
  const byName = new Map<string, { partner: string; dead: boolean }>();
  for (const p of partners) {
    byName.set(reconcileQueue(p), { partner: p, dead: false });
    byName.set(deadLetterQueue(p), { partner: p, dead: true });
  }
  const rows =
    subjectIds.length === 0 || partners.length === 0
      ? []
      : await db.query<{ name: string; subject_id: string; active: boolean }>(
          `select distinct name, singleton_key as subject_id, state = 'active' as active from ${db.schema}_queue.job
           where name = any($1::text[]) and singleton_key = any($2::text[]) and state in ('created', 'retry', 'active')`,
          [[...byName.keys()], [...new Set(subjectIds)]],
        );
  const out = new Map<string, { queued: Set<string>; active: Set<string>; dead: Set<string> }>(
    subjectIds.map((id) => [id, { queued: new Set(), active: new Set(), dead: new Set() }]),
  );
  for (const row of rows) {
    const queue = byName.get(row.name);
    const state = out.get(row.subject_id);
    if (!queue || !state) continue;
    (queue.dead ? state.dead : row.active ? state.active : state.queued).add(queue.partner);
  }
  return out;
}
