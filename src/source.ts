/** Where master records come from: the host's own store. The gateway never keeps a copy. */
export interface RecordSource {
  /** The subject's current master record, or null when the host has none (any more). */
  get(subjectId: string): Promise<unknown | null>;
  /** Many at once (optional): saves a round trip per subject when workers fetch a batch. */
  getMany?(subjectIds: readonly string[]): Promise<ReadonlyMap<string, unknown>>;
  /** Every master record, streamed: a resync never loads the whole source. */
  scan(): AsyncIterable<unknown>;
}

/** A record read, or why it could not be: words about the call, never a value from it. */
export type SourceRead =
  { readonly ok: true; readonly record: unknown } | { readonly ok: false; readonly reason: string };

/** How long one source call may take before its subjects are retried later. */
export const SOURCE_TIMEOUT_MS = 30_000;

/**
 * Reads a batch's records, one subject's failure isolated from the others: a get() that throws or
 * never settles fails that subject only (its job is retried), and a getMany() that fails falls back
 * to one get() per subject, so one bad record never holds a whole batch or a partner's worker.
 */
export async function getRecords(
  source: RecordSource,
  ids: readonly string[],
  timeoutMs: number = SOURCE_TIMEOUT_MS,
): Promise<Map<string, SourceRead>> {
  if (source.getMany) {
    const many = await withDeadline(() => source.getMany!(ids), timeoutMs, 'source.getMany');
    if (many.ok && many.record instanceof Map) {
      const found = many.record as ReadonlyMap<string, unknown>;
      return new Map(ids.map((id) => [id, { ok: true, record: found.get(id) ?? null }]));
    }
  }
  const reads = await Promise.all(ids.map((id) => withDeadline(() => source.get(id), timeoutMs, 'source.get')));
  return new Map(ids.map((id, i) => [id, reads[i]!]));
}

async function withDeadline(call: () => Promise<unknown>, timeoutMs: number, what: string): Promise<SourceRead> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<SourceRead>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, reason: `${what} did not answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    timer.unref();
  });
  const answer = (async (): Promise<SourceRead> => {
    try {
      return { ok: true, record: (await call()) ?? null };
    } catch (error) {
      // The class only: a host's message may quote the record.
      return { ok: false, reason: `${what} threw ${error instanceof Error ? error.name : typeof error}` };
    }
  })();
  try {
    return await Promise.race([answer, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
