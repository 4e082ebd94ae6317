import { describe, expect, it } from 'vitest';
import { loadPolicyFile } from '../../src/policy/index.ts';
import { parseMasterRecord } from '../../src/record.ts';
import {
  assertHoldingsAllowed,
  assertNoCanaries,
  canariesOf,
  canaryRecord,
  canaryRecords,
  checkPartnerHoldings,
  findCanaries,
  holdingsProblems,
  MemorySource,
} from '../../src/testing/index.ts';

const policy = loadPolicyFile();
const held = (personal: Record<string, unknown>) => ({ personal, meta: {} });

describe('canary records', () => {
  it('are valid master records with values unique to each subject', () => {
    const records = canaryRecords(12);
    for (const record of records) expect(() => parseMasterRecord(record)).not.toThrow();
    const all = records.flatMap(canariesOf);
    expect(new Set(all).size).toBe(all.length);
    // No canary contains another subject's (subj-1 inside subj-11 would make every search ambiguous).
    for (const a of all) for (const b of all) if (a !== b) expect(b.includes(a), `${a} in ${b}`).toBe(false);
    expect(() => canaryRecord(-1)).toThrow(RangeError);
  });

  it('findCanaries names the subject and field of a planted value, and finds nothing in clean text', () => {
    const records = canaryRecords(3);
    const planted = `{"level":30,"msg":"sent","to":"${records[1]!.email!.toUpperCase()}","city":"${records[2]!.address!.city}"}`;
    expect(findCanaries(planted, records)).toEqual([
      { subjectId: 'subj-2', field: 'email' },
      { subjectId: 'subj-3', field: 'address.city' },
    ]);
    expect(findCanaries(planted, records, { ignoreCase: false })).toEqual([
      { subjectId: 'subj-3', field: 'address.city' },
    ]);
    const clean = '{"level":30,"msg":"sent","subject":"subj-2","partner":"stripe","fields":["name","email"]}';
    expect(findCanaries(clean, records)).toEqual([]);
    expect(() => assertNoCanaries(clean, records)).not.toThrow();
  });

  it('assertNoCanaries throws naming subject and field, never the value', () => {
    const record = canaryRecord(7);
    let message = '';
    try {
      assertNoCanaries(`error for ${record.phone}`, [record], 'the error log');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('personal values leaked into the error log: subj-7 phone');
    for (const canary of canariesOf(record)) expect(message).not.toContain(canary);
  });
});

describe('MemorySource', () => {
  it('implements the record source: get, scan, and copies so the gateway never shares the host object', async () => {
    const source = new MemorySource(canaryRecords(2));
    const one = (await source.get('subj-1')) as { email: string };
    expect(one.email).toBe('canary-1-x7q@example.test');
    one.email = 'changed@example.test';
    expect(((await source.get('subj-1')) as { email: string }).email).toBe('canary-1-x7q@example.test');
    expect(await source.get('nobody')).toBeNull();
    const ids: string[] = [];
    for await (const record of source.scan()) ids.push((record as { id: string }).id);
    expect(ids).toEqual(['subj-1', 'subj-2']);
    source.delete('subj-2');
    expect(await source.get('subj-2')).toBeNull();
    expect(() => source.put({ name: 'no id' })).toThrow(/string id/);
  });
});

describe('holdings checks', () => {
  it('pass when each partner holds only categories it is sent or collects', () => {
    const holdings = {
      stripe: { cus_1: held({ name: 'A B' }) },
      resin: { '1001': held({ 'ip_address.local': '192.0.2.1', 'ip_address.public': '198.51.100.1' }) },
      twilio: {},
    };
    expect(holdingsProblems(policy, holdings)).toEqual([]);
    expect(checkPartnerHoldings(policy, 'resin', holdings.resin)).toMatchObject({
      records: 1,
      held: ['ip_address'],
      allowed: ['ip_address'],
      problems: [],
    });
  });

  it('name the partner and field outside its allowlist, never the value', () => {
    const holdings = {
      stripe: { cus_1: held({ name: 'Secret Person', email: 'secret@example.test' }) },
      resin: { '1001': held({ mac_address: '00:11:22:33:44:55' }) },
      unknownco: { x: held({ email: 'other@example.test' }) },
    };
    const problems = holdingsProblems(policy, holdings);
    expect(problems).toEqual([
      'stripe holds email, outside its allowlist (name, payment_card)',
      'resin holds mac_address, outside its allowlist (ip_address)',
      'unknownco holds 1 record(s) but is not in the policy',
    ]);
    expect(() => assertHoldingsAllowed(policy, holdings)).toThrow(/stripe holds email/);
    const text = problems.join('\n');
    for (const value of ['Secret Person', 'secret@example.test', '00:11:22:33:44:55', 'other@example.test'])
      expect(text).not.toContain(value);
  });

  it('find an erased subject by its email, also nested and in other case', () => {
    const erased = canaryRecord(3);
    const holdings = { stripe: { cus_1: held({ name: 'X', address: { line1: erased.email!.toUpperCase() } }) } };
    expect(holdingsProblems(policy, holdings, { erased: [erased] })).toEqual([
      'stripe holds address, outside its allowlist (name, payment_card)',
      'stripe still holds address of an erased subject',
    ]);
  });
});
