import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describePayload, minimise } from '../../src/minimise.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import { parseMasterRecord } from '../../src/record.ts';
import { canaryRecord } from '../support/records.ts';

const policy = loadPolicyFile();

/** Every dotted path to a leaf value in an object. */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  }
  return prefix ? [prefix] : [];
}

const junk = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.string(), { maxKeys: 3 }),
);
const knownKeys = [
  'id',
  'name',
  'address',
  'phone',
  'email',
  'devices',
  'subscription',
  'partnerIds',
  'given',
  'family',
  'street',
  'city',
  'postalCode',
  'country',
  'ssn',
  '__proto__',
  'constructor',
];
const key = fc.oneof(fc.constantFrom(...knownKeys), fc.string({ minLength: 1, maxLength: 8 }));
/** Records of any shape: real fields, extra fields, nesting where values belong and values where nesting belongs. */
const anyRecord = fc
  .letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, junk, fc.dictionary(key, tie('node'), { maxKeys: 5 })),
    record: fc.record({
      base: fc.constant(canaryRecord(1)),
      extra: fc.dictionary(key, tie('node'), { maxKeys: 6 }),
      deepName: fc.dictionary(key, tie('node'), { maxKeys: 4 }),
      deepAddress: fc.dictionary(key, tie('node'), { maxKeys: 4 }),
    }),
  }))
  .record.map(({ base, extra, deepName, deepAddress }) => ({
    ...base,
    ...extra,
    name: { ...(base.name ?? {}), ...deepName },
    address: { ...(base.address ?? {}), ...deepAddress },
  }));

describe('minimise', () => {
  it('never lets a field outside the allowlist through, whatever the record holds', () => {
    fc.assert(
      fc.property(anyRecord, fc.constantFrom(...policy.partnerNames), (record, partner) => {
        const payload = minimise(record, partner, policy);
        const allowed = policy.allowedFields(partner);
        for (const path of leafPaths(payload)) expect(allowed).toContain(path);
        for (const path of leafPaths(payload)) {
          const value = path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], payload);
          expect(['string', 'number', 'boolean']).toContain(typeof value);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('gives each partner exactly its categories from a full record', () => {
    const record = parseMasterRecord(canaryRecord(7, { partnerIds: { auth0: 'auth0|abc' }, devices: [{ id: 'd1' }] }));
    expect(minimise(record, 'stripe', policy)).toEqual({
      name: { given: 'CanaryGiven7x7q', family: 'CanaryFamily7x7q' },
    });
    expect(minimise(record, 'mailchimp', policy)).toEqual({ name: record.name, email: record.email });
    expect(minimise(record, 'twilio', policy)).toEqual({ phone: record.phone });
    expect(minimise(record, 'resin', policy)).toEqual({});
    expect(minimise(record, 'elogistik', policy)).toEqual({
      name: record.name,
      address: record.address,
      phone: record.phone,
      email: record.email,
    });
    expect(describePayload(minimise(record, 'intercom', policy), policy)).toEqual({
      fields: ['name.given', 'name.family', 'email', 'phone'],
      categories: ['name', 'email', 'phone'],
    });
  });

  it('drops a nested object smuggled into an allowed field, and half an address', () => {
    const payload = minimise(
      {
        email: { value: 'x', secret: 'CanarySecret' },
        address: { street: 'S', city: 'C' },
        name: { given: 'A', family: 'B' },
      },
      'elogistik',
      policy,
    );
    expect(payload).toEqual({ name: { given: 'A', family: 'B' } });
  });

  it('does not read inherited properties', () => {
    const record = Object.create({ email: 'CanaryInherited@example.test' }) as Record<string, unknown>;
    expect(minimise(record, 'mailchimp', policy)).toEqual({});
  });
});
