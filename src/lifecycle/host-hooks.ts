import type { LifecycleDeps } from './types.ts';
import { safeErrorCode } from '../adapter.ts';

/**
 * Calls the host's lifecycle hooks so that none is lost and a successful one is not repeated: a
 * hook's "done" time is recorded only after it returned, and a lease (real time, it guards real
 * processes) keeps two processes from calling it at once. A hook that throws is logged without its
 * message (the host's error may quote personal data) and retried with exponential backoff on the
 * gateway's clock: attempts are counted, the next attempt's time is stored, and since when it has
 * been failing is kept for `status`. It is never given up: the camera hook's success is part of the
 * erasure's completeness, and the `erased` hook is the host's only word that erasure finished.
 */

export type HookName = 'anonymiseCameraData' | 'erased';

interface HookColumns {
  readonly done: string;
  readonly lease: string;
  readonly attempts: string;
  readonly nextAt: string;
  readonly failingSince: string;
  readonly eligible: string;
}

const columns: Record<HookName, HookColumns> = {
  anonymiseCameraData: {
    done: 'camera_anonymised_at',
    lease: 'camera_hook_lease',
    attempts: 'camera_hook_attempts',
    nextAt: 'camera_hook_next_at',
    failingSince: 'camera_hook_failing_since',
    eligible: 'exists (select 1 from tombstones t where t.subject_id = subjects.id)',
  },
  erased: {
    done: 'erased_notified_at',
    lease: 'erased_hook_lease',
    attempts: 'erased_hook_attempts',
    nextAt: 'erased_hook_next_at',
    failingSince: 'erased_hook_failing_since',
    eligible: 'erasure_completed_at is not null',
  },
};

/** Longer than any sane hook call; after it, a hook whose process died is tried again. */
const LEASE = "interval '10 minutes'";

/** The wait after the first failure, doubled after each next one up to the cap. */
export const HOOK_BACKOFF = { firstMs: 60_000, capMs: 6 * 3600_000 } as const;

export function hookRetryDelayMs(attempts: number): number {
  return Math.min(HOOK_BACKOFF.capMs, HOOK_BACKOFF.firstMs * 2 ** Math.max(0, attempts - 1));
}

export async function runHook(deps: LifecycleDeps, hook: HookName, subjectId: string): Promise<boolean> {
  const c = columns[hook];
  const now = deps.now();
  const claimed = await deps.db.query<{ attempts: number }>(
    `update subjects set ${c.lease} = clock_timestamp() + ${LEASE}
     where id = $1 and ${c.done} is null and ${c.eligible} and (${c.lease} is null or ${c.lease} < clock_timestamp())
       and (${c.nextAt} is null or ${c.nextAt} <= $2)
     returning ${c.attempts} as attempts`,
    [subjectId, now],
  );
  if (claimed.length === 0) return false;
  const fn = deps.hooks[hook];
  try {
    // No hook configured: there is nothing for the host to do, so the step is done.
    if (fn) await fn.call(deps.hooks, subjectId);
  } catch (error) {
    const attempts = claimed[0]!.attempts + 1;
    const nextAt = new Date(now.getTime() + hookRetryDelayMs(attempts));
    await deps.db.query(
      `update subjects set ${c.lease} = null, ${c.attempts} = $2, ${c.nextAt} = $3,
         ${c.failingSince} = coalesce(${c.failingSince}, $4) where id = $1`,
      [subjectId, attempts, nextAt, now],
    );
    deps.logger.error(
      { subjectId, hook, error: errorKind(error), attempts, nextAttemptAt: nextAt.toISOString() },
      'lifecycle hook failed; processDueErasures() retries it from the next attempt time',
    );
    return false;
  }
  await deps.db.query(
    `update subjects set ${c.done} = $2, ${c.lease} = null, ${c.attempts} = ${c.attempts} + 1, ${c.nextAt} = null where id = $1`,
    [subjectId, deps.now()],
  );
  return true;
}

/** Subjects for which the hook is owed, due for an attempt and not running elsewhere. */
export async function owedHooks(deps: LifecycleDeps, hook: HookName): Promise<string[]> {
  const c = columns[hook];
  const rows = await deps.db.query<{ id: string }>(
    `select id from subjects where ${c.done} is null and ${c.eligible}
       and (${c.lease} is null or ${c.lease} < clock_timestamp()) and (${c.nextAt} is null or ${c.nextAt} <= $1)
     order by id limit 1000`,
    [deps.now()],
  );
  return rows.map((r) => r.id);
}

/** The error's class and code, never its message. */
export function errorKind(error: unknown): string {
  const name = error instanceof Error ? error.name : typeof error;
  const code = safeErrorCode((error as { code?: unknown })?.code);
  return code ? `${name} (${code})` : name;
}
