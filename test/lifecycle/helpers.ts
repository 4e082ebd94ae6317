import type { PartnerPayload } from '../../src/adapter.ts';
import type { Harness } from '../support/harness.ts';
import type { RecordedCall } from '../support/memory-adapter.ts';

/** Evidence and sources in tests are references, as in production: never the document itself. */
export const webConsent = { source: 'web-form', evidence: 'form-submission:7f3a9c' } as const;
export const writtenWithdrawal = {
  source: 'written-notice',
  evidence: 'letter:2026-0042',
  operator: 'ops-kim',
} as const;

/** A payload's field names as dotted paths, the form policy.allowedFields() uses. */
export function fieldPaths(payload: PartnerPayload | Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(payload).flatMap(([k, v]) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? fieldPaths(v as Record<string, unknown>, `${prefix}${k}.`)
      : [`${prefix}${k}`],
  );
}

/** How many calls each memory adapter has recorded so far: pass it to callsAfter() later. */
export function mark(h: Harness): Map<string, number> {
  return new Map([...h.adapters].map(([p, a]) => [p, a.calls.length]));
}

/** The calls made since the mark, per partner (partners with none left out). */
export function callsAfter(h: Harness, since: Map<string, number>): Record<string, RecordedCall[]> {
  const out: Record<string, RecordedCall[]> = {};
  for (const [p, a] of h.adapters) {
    const calls = a.calls.slice(since.get(p) ?? 0);
    if (calls.length > 0) out[p] = calls;
  }
  return out;
}

export function operationsAfter(h: Harness, since: Map<string, number>): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(callsAfter(h, since)).map(([p, calls]) => [p, calls.map((c) => c.operation)]),
  );
}

/** Every text cell of a table, for leak searches. */
export async function tableText(h: Pick<Harness, 'gateway'>, table: string): Promise<string> {
  const rows = await h.gateway.database.query<{ t: string }>(
    `select coalesce(string_agg(x::text, E'\\n'), '') as t from ${table} x`,
  );
  return rows[0]!.t;
}

export async function count(h: Harness, sql: string, params: unknown[] = []): Promise<number> {
  const rows = await h.gateway.database.query<{ n: number }>(`select count(*)::int as n from (${sql}) q`, params);
  return rows[0]!.n;
}
