/**
 * The access report's first section: what the company itself holds about the subject. The master
 * record's personal fields come from the host's record source (the gateway keeps no copy); what the
 * record does not carry (camera data above all, which never reaches the gateway) comes from the
 * host's companyHoldings hook. Both are personal data for the subject's own report: a failure is
 * reported by its class only, never by a message that might quote the record.
 */
import { categoryFieldPaths } from '../policy/index.ts';
import { parseMasterRecord, type MasterRecord } from '../record.ts';
import { errorKind } from './host-hooks.ts';
import type { CompanyHoldingsReport, LifecycleDeps } from './types.ts';

/** A host call that never answers must not hold the report: after this it is reported as failed. */
const HOST_CALL_TIMEOUT_MS = 15_000;

export interface CompanyHoldingsResult {
  readonly report: CompanyHoldingsReport;
  /** The parsed record, for the partner sections (ids the host named for partners). */
  readonly record: MasterRecord | null;
}

export async function companyHoldings(
  deps: Pick<LifecycleDeps, 'source' | 'hooks' | 'policy' | 'logger'>,
  subjectId: string,
): Promise<CompanyHoldingsResult> {
  const [record, other] = await Promise.all([masterRecord(deps, subjectId), hookHoldings(deps, subjectId)]);
  return { report: { record: record.report, other }, record: record.parsed };
}

async function masterRecord(
  deps: Pick<LifecycleDeps, 'source' | 'policy' | 'logger'>,
  subjectId: string,
): Promise<{ report: CompanyHoldingsReport['record']; parsed: MasterRecord | null }> {
  if (!deps.source) return { report: { error: 'the master record source is not connected' }, parsed: null };
  let raw: unknown;
  try {
    raw = await withTimeout(deps.source.get(subjectId));
  } catch (error) {
    deps.logger.warn({ subjectId, error: errorKind(error) }, 'access report: the master record could not be read');
    return { report: { error: `the master record could not be read (${errorKind(error)})` }, parsed: null };
  }
  if (raw === null || raw === undefined) return { report: { found: false }, parsed: null };
  let record: MasterRecord;
  try {
    record = parseMasterRecord(raw);
  } catch (error) {
    // InvalidRecordError names fields, never values: it may be shown.
    return { report: { error: error instanceof Error ? error.message : 'invalid master record' }, parsed: null };
  }
  if (record.id !== subjectId)
    return { report: { error: 'the record source answered with another subject’s record' }, parsed: null };
  const fields = categoryFieldPaths().flatMap((path) => {
    const value = readPath(record, path);
    return value === undefined ? [] : [{ path, category: deps.policy.categoryOfField(path) ?? null, value }];
  });
  return { report: { found: true, fields }, parsed: record };
}

async function hookHoldings(
  deps: Pick<LifecycleDeps, 'hooks' | 'logger'>,
  subjectId: string,
): Promise<CompanyHoldingsReport['other']> {
  const hook = deps.hooks.companyHoldings;
  if (!hook) return null;
  let answer: unknown;
  try {
    answer = await withTimeout(hook.call(deps.hooks, subjectId));
  } catch (error) {
    deps.logger.warn({ subjectId, hook: 'companyHoldings', error: errorKind(error) }, 'access report: hook failed');
    return { error: `the host could not say what it holds (${errorKind(error)})` };
  }
  if (answer === null || answer === undefined) return {};
  if (typeof answer !== 'object' || Array.isArray(answer))
    return { error: 'the host’s answer is not a map of category to descriptions' };
  const out: Record<string, readonly string[]> = {};
  for (const [category, items] of Object.entries(answer)) {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(category) || !Array.isArray(items) || !items.every((i) => typeof i === 'string'))
      return { error: 'the host’s answer is not a map of category to descriptions' };
    if (items.length > 0) out[category] = Object.freeze([...items]);
  }
  return out;
}

function readPath(record: unknown, path: string): string | undefined {
  let current: unknown = record;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return typeof current === 'string' || typeof current === 'number' ? String(current) : undefined;
}

function withTimeout<T>(pending: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HostTimeoutError()), HOST_CALL_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
}

class HostTimeoutError extends Error {
  override readonly name = 'HostTimeoutError';
  constructor() {
    super(`no answer within ${HOST_CALL_TIMEOUT_MS / 1000} s`);
  }
}
