import { describe, expect, it } from 'vitest';
import { InvalidRecordError, parseMasterRecord } from '../../src/record.ts';
import { canaryRecord } from '../support/records.ts';

describe('master record', () => {
  it('parses a good record and drops fields it does not know', () => {
    const record = parseMasterRecord({
      ...canaryRecord(1),
      ssn: 'CanarySsn',
      name: { given: 'A', family: 'B', nickname: 'CanaryNick' },
    });
    expect(record).not.toHaveProperty('ssn');
    expect(record.name).toEqual({ given: 'A', family: 'B' });
  });

  it('names every bad field and never echoes a value', () => {
    const bad = {
      ...canaryRecord(2),
      email: 'CanaryNotAnEmail',
      phone: '0701234567',
      address: { street: 'CanaryStreet', city: 'X' },
    };
    let error: unknown;
    try {
      parseMasterRecord(bad);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidRecordError);
    const message = (error as Error).message;
    expect(message).toContain('subject subj-2');
    expect(message).toMatch(/email: must be an email address/);
    expect(message).toMatch(/phone: must be in E.164 form/);
    expect(message).toMatch(/address.postalCode/);
    expect(message).not.toMatch(/Canary|0701234567/);
    expect((error as InvalidRecordError).problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['email', 'phone', 'address.postalCode', 'address.country']),
    );
  });

  it('rejects a subscription that ends before it starts', () => {
    expect(() =>
      parseMasterRecord({ ...canaryRecord(3), subscription: { start: '2026-02-01', end: '2026-01-01' } }),
    ).toThrow(/subscription.end: end must not be before start/);
  });

  it('does not echo an id that looks like free text', () => {
    expect(() => parseMasterRecord({ id: 'Canary Person <canary@example.test>' })).toThrow(
      /^invalid master record: id:/,
    );
  });
});
