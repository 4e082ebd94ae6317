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
  const rows = await sql.query<{ id: string }>(erasedQuery(1), erasedParams(keys, ids));
  return new Set(rows.map((r) => r.id));
}

/**
 * erasedAmong's query (rows `id`), its three parameters numbered from `first`, so a statement that
 * does more (a consent grant) can ask it in the same round trip. Parameters: erasedParams().
 */
export function erasedQuery(first: number): string {
  const [ids, pairIds, pairMarks] = [first, first + 1, first + 2].map((n) => `$${n}`);
  return `select subject_id as id from tombstones where subject_id = any(${ids}::text[])
     union
     select u.id from unnest(${pairIds}::text[], ${pairMarks}::text[]) as u(id, mark) join erasure_marks m on m.mark = u.mark`;
}

export function erasedParams(keys: ErasureMarks, ids: readonly string[]): [string[], string[], string[]] {
  const pairs = ids.flatMap((id) => keys.erasureMarks(id).map((mark) => [id, mark] as const));
  return [[...ids], pairs.map((p) => p[0]), pairs.map((p) => p[1])];
}
