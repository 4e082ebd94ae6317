import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/canonical-json.ts';
import { contentHash, type RowContent } from '../../src/log/row-content.ts';

const text = fc.string({ maxLength: 12 });
const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const row: fc.Arbitrary<RowContent> = fc.record({
  seq: fc.bigInt({ min: 1n, max: 2n ** 62n }).map(String),
  at_us: fc.bigInt({ min: 0n, max: 2n ** 52n }).map(String),
  kind: fc.constantFrom('intent' as const, 'outcome' as const, 'event' as const),
  intent_seq: nullable(fc.bigInt({ min: 1n, max: 2n ** 62n }).map(String)),
  subject_id: nullable(text),
  partner: nullable(text),
  operation: text,
  purpose: nullable(text),
  legal_basis: nullable(text),
  trigger: text,
  operator: nullable(text),
  correlation_id: text,
  fields: fc.array(text, { maxLength: 4 }),
  categories: fc.array(text, { maxLength: 4 }),
  payload_digest: nullable(text),
  partner_id: nullable(text),
  outcome: nullable(text),
  http_status: nullable(fc.integer({ min: 100, max: 599 })),
  error_code: nullable(text),
  attempt: nullable(fc.integer({ min: 1, max: 100 })),
  duration_ms: nullable(fc.integer({ min: 0, max: 2 ** 31 - 1 })),
  policy_digest: text,
});

describe('contentHash', () => {
  it('is the sha256 of the canonical JSON of the row, as rows sealed before it were hashed', () => {
    fc.assert(
      fc.property(row, (r) => {
        expect(contentHash(r)).toBe(createHash('sha256').update(canonicalJson(r)).digest('hex'));
      }),
      { numRuns: 500 },
    );
  });

  it('hashes a row as read from the table by its content alone: other columns and missing members do not count', () => {
    fc.assert(
      fc.property(row, text, (r, extra) => {
        const read = { ...r, writer_mac: extra, chain_pos: '7', content_hash: extra };
        expect(contentHash(read)).toBe(contentHash(r));
        const { operator: _, ...withoutOperator } = r;
        expect(contentHash(withoutOperator)).toBe(contentHash({ ...r, operator: null }));
      }),
      { numRuns: 200 },
    );
  });
});
