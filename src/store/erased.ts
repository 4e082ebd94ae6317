import type { Sql } from './database.ts';

/** Keys.erasureMark (src/keys.ts), named here so the store does not depend on the keys. */
export interface ErasureMarks {
  erasureMark(subjectId: string): string;
  /** Under the current and every retired pseudonym key: a mark left before a rotation still counts. */
  erasureMarks(subjectId: string): readonly string[];
}

/**
 * The subjects among `ids` that are erased: tombstoned, or purged after their erasure (the mark the
 * retention purge leaves outlives the tombstone). The one reading of "erased" that the plan and the
 * transfer's re-check in its intent transaction share, so nothing is ever sent for such a subject.
 */
export async function erasedAmong(sql: Sql, keys: ErasureMarks, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const pairs = ids.flatMap((id) => keys.erasureMarks(id).map((mark) => [id, mark] as const));
  const rows = await sql.query<{ id: string }>(
    `select subject_id as id from tombstones where subject_id = any($1::text[])
     union
     select u.id from unnest($2::text[], $3::text[]) as u(id, mark) join erasure_marks m on m.mark = u.mark`,
    [ids, pairs.map((p) => p[0]), pairs.map((p) => p[1])],
  );
  return new Set(rows.map((r) => r.id));
}
