import type { MasterRecordInput } from '../record.ts';
import type { RecordSource } from '../source.ts';

/**
 * Made-up subjects whose every personal field carries a string unique to the subject (a canary), so a
 * test can search logs, tables and error messages for them and prove no personal value leaked.
 * The phone is from no real range in use and the email under the reserved .test domain.
 */
export function canaryRecord(n: number, overrides: Partial<MasterRecordInput> = {}): MasterRecordInput {
  if (!(Number.isInteger(n) && n >= 0 && n < 10_000_000))
    throw new RangeError(`canaryRecord: n must be a whole number below 10,000,000, got ${n}`);
  return {
    id: `subj-${n}`,
    name: { given: `CanaryGiven${n}x7q`, family: `CanaryFamily${n}x7q` },
    address: {
      street: `Canarygatan ${n}x7q`,
      postalCode: `1${String(n).padStart(4, '0')}`,
      city: `CanaryCity${n}x7q`,
      country: 'SE',
    },
    phone: `+4670${String(1000000 + n).slice(-7)}`,
    email: `canary-${n}-x7q@example.test`,
    devices: [],
    subscription: { start: new Date('2025-01-01T00:00:00Z') },
    ...overrides,
  };
}

/** `count` canary records numbered from `first`. */
export function canaryRecords(count: number, first = 1): MasterRecordInput[] {
  return Array.from({ length: count }, (_, i) => canaryRecord(first + i));
}

/**
 * The record's personal strings with the field each sits in. The postal code and country are left
 * out: they are too short to be unique, so searching for them would find innocent text.
 */
export function canaryFields(record: MasterRecordInput): { readonly field: string; readonly value: string }[] {
  const fields: [string, unknown][] = [
    ['name.given', record.name?.given],
    ['name.family', record.name?.family],
    ['address.street', record.address?.street],
    ['address.city', record.address?.city],
    ['email', record.email],
    ['phone', record.phone],
  ];
  return fields.flatMap(([field, value]) => (typeof value === 'string' && value !== '' ? [{ field, value }] : []));
}

/** Every canary string of a record. */
export function canariesOf(record: MasterRecordInput): string[] {
  return canaryFields(record).map((one) => one.value);
}

/**
 * The host's record source, in memory. Records are copied in and out, so a test that changes a
 * record it holds must put() it again, as the host's own store would need a write.
 */
export class MemorySource implements RecordSource {
  readonly records = new Map<string, unknown>();
  constructor(records: readonly unknown[] = []) {
    for (const r of records) this.put(r);
  }
  put(record: unknown): void {
    const id = (record as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') throw new TypeError('MemorySource.put: the record needs a string id');
    this.records.set(id, structuredClone(record));
  }
  delete(id: string): void {
    this.records.delete(id);
  }
  async get(id: string): Promise<unknown | null> {
    const record = this.records.get(id);
    return record === undefined ? null : structuredClone(record);
  }
  async *scan(): AsyncIterable<unknown> {
    for (const r of this.records.values()) yield structuredClone(r);
  }
}
