import type { Sql } from './database.ts';

/** A statement built but not yet run. */
export interface Statement {
  readonly text: string;
  readonly params: readonly unknown[];
}

/**
 * Data-modifying statements run as one (each a CTE of it, its parameters renumbered), so they commit
 * together in one round trip with no transaction around them. They must not touch the same row.
 */
export async function runTogether(sql: Sql, statements: readonly (Statement | undefined)[]): Promise<void> {
  const list = statements.filter((s): s is Statement => s !== undefined);
  if (list.length === 0) return;
  if (list.length === 1) {
    await sql.query(list[0]!.text, list[0]!.params);
    return;
  }
  const params: unknown[] = [];
  const parts = list.map((s, i) => {
    const offset = params.length;
    params.push(...s.params);
    return `s${i} as (${s.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)})`;
  });
  await sql.query(`with ${parts.join(',\n')} select 1`, params);
}
