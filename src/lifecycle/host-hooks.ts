import type { LifecycleDeps } from './types.ts';
import { safeErrorCode } from '../adapter.ts';

/**
 * Calls the host's lifecycle hooks so that none is lost and a successful one is not repeated: a
 * hook's "done" time is recorded only after it returned, and a lease (real time, it guards real
 * processes) keeps two processes from calling it at once. A hook that throws is logged without its
 * message (the host's error may quote personal data) and retried by the next processDueErasures().
 */

type HookName = 'anonymiseCameraData' | 'erased';

const columns: Record<HookName, { done: string; lease: string; eligible: string }> = {
  anonymiseCameraData: {
    done: 'camera_anonymised_at',
    lease: 'camera_hook_lease',
    eligible: 'exists (select 1 from tombstones t where t.subject_id = subjects.id)',
  },
  erased: { done: 'erased_notified_at', lease: 'erased_hook_lease', eligible: 'erasure_completed_at is not null' },
};

/** Longer than any sane hook call; after it, a hook whose process died is tried again. */
const LEASE = "interval '10 minutes'";

export async function runHook(deps: LifecycleDeps, hook: HookName, subjectId: string): Promise<boolean> {
  const c = columns[hook];
  const claimed = await deps.db.query(
    `update subjects set ${c.lease} = clock_timestamp() + ${LEASE}
     where id = $1 and ${c.done} is null and ${c.eligible} and (${c.lease} is null or ${c.lease} < clock_timestamp())
     returning id`,
    [subjectId],
  );
  if (claimed.length === 0) return false;
  const fn = deps.hooks[hook];
  try {
    // No hook configured: there is nothing for the host to do, so the step is done.
    if (fn) await fn.call(deps.hooks, subjectId);
  } catch (error) {
    await deps.db.query(`update subjects set ${c.lease} = null where id = $1`, [subjectId]);
    deps.logger.error(
      { subjectId, hook, error: errorKind(error) },
      'lifecycle hook failed; it is retried by the next processDueErasures()',
    );
    return false;
  }
  await deps.db.query(`update subjects set ${c.done} = $2, ${c.lease} = null where id = $1`, [subjectId, deps.now()]);
  return true;
}

/** Subjects for which the hook is owed and not running elsewhere: retried by processDueErasures(). */
export async function owedHooks(deps: LifecycleDeps, hook: HookName): Promise<string[]> {
  const c = columns[hook];
  const rows = await deps.db.query<{ id: string }>(
    `select id from subjects where ${c.done} is null and ${c.eligible} and (${c.lease} is null or ${c.lease} < clock_timestamp()) order by id limit 1000`,
  );
  return rows.map((r) => r.id);
}

/** The error's class and code, never its message. */
export function errorKind(error: unknown): string {
  const name = error instanceof Error ? error.name : typeof error;
  const code = safeErrorCode((error as { code?: unknown })?.code);
  return code ? `${name} (${code})` : name;
}
