import type { Logger } from 'pino';
import { getRecords, type RecordSource } from './source.ts';
import type { Sql } from './store/database.ts';

/**
 * A vanished record (source.get -> null) is a state, not an order to delete: one null from a host
 * bug, a failed migration or a partial replica must not erase a customer at seven partners. The
 * subject is noted "record missing since T" (status and the access report show it), partners keep
 * what they hold, and only after the host's grace period, and a further read that still finds
 * nothing, is the subject erased, through the lifecycle's erase (every partner of the policy, the
 * camera hook, the tombstone). A record that comes back in the meantime cancels it.
 */
export const DEFAULT_MISSING_RECORD_GRACE_DAYS = 30;

const DAY_MS = 24 * 3600 * 1000;

export interface MissingRecord {
  readonly subjectId: string;
  readonly since: Date;
  /** When erasure may run: since + the grace period (after one more read that still finds nothing). */
  readonly erasureAfter: Date;
}

/** Notes subjects as missing from now, keeping the first time each was seen missing. */
export async function noteMissing(sql: Sql, subjectIds: readonly string[], now: Date): Promise<void> {
  if (subjectIds.length === 0) return;
  await sql.query(
    `insert into missing_records (subject_id, since, last_read_at) select unnest($1::text[]), $2, $2
     on conflict (subject_id) do update set last_read_at = excluded.last_read_at`,
    [[...new Set(subjectIds)], now],
  );
}

/** The records came back: whatever was pending for them is cancelled. Returns the ids that were missing. */
export async function clearMissing(sql: Sql, subjectIds: readonly string[]): Promise<string[]> {
  if (subjectIds.length === 0) return [];
  const rows = await sql.query<{ subject_id: string }>(
    `delete from missing_records where subject_id = any($1::text[]) returning subject_id`,
    [[...new Set(subjectIds)]],
  );
  return rows.map((r) => r.subject_id);
}

export async function missingRecords(
  sql: Sql,
  graceDays: number,
  subjectIds?: readonly string[],
): Promise<MissingRecord[]> {
  const rows = await sql.query<{ subject_id: string; since: Date }>(
    `select subject_id, since from missing_records where ($1::text[] is null or subject_id = any($1::text[]))
     order by since, subject_id`,
    [subjectIds ? [...subjectIds] : null],
  );
  return rows.map((r) => ({
    subjectId: r.subject_id,
    since: new Date(r.since),
    erasureAfter: new Date(new Date(r.since).getTime() + graceDays * DAY_MS),
  }));
}

export interface MissingRecordsDeps {
  readonly db: Sql;
  readonly source: RecordSource;
  readonly now: () => Date;
  readonly graceDays: number;
  readonly sourceTimeoutMs?: number | undefined;
  readonly logger: Logger;
  /** The lifecycle's erase: tombstone, every partner, the camera hook. */
  readonly erase: (subjectId: string, reason: string) => Promise<unknown>;
  /** The record is back: bring the partners in step with it. */
  readonly changed: (subjectId: string) => Promise<void>;
}

/**
 * Subjects missing for longer than the grace period: each record is read once more; still nothing
 * -> erased; back -> the pending erasure is cancelled. A read that fails decides nothing (next time).
 * Returns how many erasures it started.
 */
export async function processMissingRecords(deps: MissingRecordsDeps): Promise<number> {
  const now = deps.now();
  const cutoff = new Date(now.getTime() - deps.graceDays * DAY_MS);
  const due = await deps.db.query<{ subject_id: string; since: Date }>(
    `select subject_id, since from missing_records where since <= $1 order by since limit 1000`,
    [cutoff],
  );
  if (due.length === 0) return 0;
  const reads = await getRecords(
    deps.source,
    due.map((d) => d.subject_id),
    deps.sourceTimeoutMs,
  );
  let erased = 0;
  for (const { subject_id: id, since } of due) {
    const read = reads.get(id)!;
    if (!read.ok) {
      deps.logger.warn({ subjectId: id, reason: read.reason }, 'missing record could not be read again; erasure waits');
      continue;
    }
    if (read.record !== null) {
      await clearMissing(deps.db, [id]);
      deps.logger.info({ subjectId: id }, 'missing record is back: its erasure is cancelled');
      await deps.changed(id);
      continue;
    }
    const sinceText = new Date(since).toISOString();
    deps.logger.warn({ subjectId: id, since: sinceText }, 'record missing past the grace period: erasing');
    await deps.erase(id, `record missing since ${sinceText}`);
    await clearMissing(deps.db, [id]);
    erased++;
  }
  return erased;
}
