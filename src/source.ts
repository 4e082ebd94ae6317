/** Where master records come from: the host's own store. The gateway never keeps a copy. */
export interface RecordSource {
  /** The subject's current master record, or null when the host has none (any more). */
  get(subjectId: string): Promise<unknown | null>;
  /** Many at once (optional): saves a round trip per subject when workers fetch a batch. */
  getMany?(subjectIds: readonly string[]): Promise<ReadonlyMap<string, unknown>>;
  /** Every master record, streamed: a resync never loads the whole source. */
  scan(): AsyncIterable<unknown>;
}

export async function getRecords(source: RecordSource, ids: readonly string[]): Promise<Map<string, unknown | null>> {
  if (source.getMany) {
    const found = await source.getMany(ids);
    return new Map(ids.map((id) => [id, found.get(id) ?? null]));
  }
  const records = await Promise.all(ids.map((id) => source.get(id)));
  return new Map(ids.map((id, i) => [id, records[i] ?? null]));
}
