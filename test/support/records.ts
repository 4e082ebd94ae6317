import type { MasterRecordInput } from '../../src/record.ts';
import type { RecordSource } from '../../src/source.ts';

/**
 * Test subjects carry unique canary strings in every personal field, so a test can search logs and
 * tables for them and prove no personal value leaked.
 */
export function canaryRecord(n: number, overrides: Partial<MasterRecordInput> = {}): MasterRecordInput {
  return {
    id: `subj-${n}`,
    name: { given: `CanaryGiven${n}x7q`, family: `CanaryFamily${n}x7q` },
    address: { street: `Canarygatan ${n}x7q`, postalCode: `1${String(n).padStart(4, '0')}`, city: `CanaryCity${n}x7q`, country: 'SE' },
    phone: `+4670${String(1000000 + n).slice(-7)}`,
    email: `canary-${n}-x7q@example.test`,
    devices: [],
    subscription: { start: new Date('2025-01-01T00:00:00Z') },
    ...overrides,
  };
}

/** Every personal string of a record, for leak searches (the phone is unique per test subject too). */
export function canariesOf(record: MasterRecordInput): string[] {
  return [record.name?.given, record.name?.family, record.address?.street, record.address?.city, record.email, record.phone].filter(
    (v): v is string => typeof v === 'string',
  );
}

export class MemorySource implements RecordSource {
  readonly records = new Map<string, unknown>();
  constructor(records: readonly unknown[] = []) {
    for (const r of records) this.put(r);
  }
  put(record: unknown): void {
    this.records.set((record as { id: string }).id, structuredClone(record));
  }
  delete(id: string): void {
    this.records.delete(id);
  }
  async get(id: string) {
    return this.records.get(id) ?? null;
  }
  async *scan() {
    for (const r of this.records.values()) yield r;
  }
}
