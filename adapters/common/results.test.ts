/**
 * boundedFields: a partner's free-form fields (user_metadata, custom_attributes) are written by
 * anyone, so what reaches an access report is bounded: scalars only, cut, nested and counted.
 */
import { describe, expect, it } from 'vitest';
import { boundedFields, HELD_VALUE_MAX } from './results.ts';

describe('boundedFields', () => {
  it('flattens nested records to dotted paths, keeping strings, numbers, booleans and lists of them', () => {
    expect(
      boundedFields(
        {
          nick: 'CanaryNick',
          year: 1984,
          vip: true,
          tags: ['a', 'b'],
          home: { city: 'Uppsala' },
          none: null,
          empty: '',
        },
        'user_metadata',
      ),
    ).toEqual({
      'user_metadata.nick': 'CanaryNick',
      'user_metadata.year': 1984,
      'user_metadata.vip': true,
      'user_metadata.tags': ['a', 'b'],
      'user_metadata.home.city': 'Uppsala',
    });
    expect(boundedFields('198.51.100.7', 'ip_signup')).toEqual({ ip_signup: '198.51.100.7' });
    expect(boundedFields(undefined, 'ip_signup')).toEqual({});
  });

  it('cuts long values and keys, and shows a too-deep or odd value by its type instead of dropping it', () => {
    const long = 'x'.repeat(HELD_VALUE_MAX + 50);
    const fields = boundedFields({ [long]: long, deep: { a: { b: { c: { d: 'hidden' } } } }, n: Number.NaN }, 'm');
    const [longKey] = Object.keys(fields).filter((k) => k.startsWith('m.xxx'));
    expect(longKey!.length).toBeLessThan(110);
    expect(fields[longKey!]).toBe(`${'x'.repeat(HELD_VALUE_MAX)}…`);
    expect(fields['m.deep.a.b.c']).toBe('(object)');
    expect(fields['m.n']).toBe('(number)');
    expect(JSON.stringify(fields)).not.toContain('hidden');
  });

  it('keeps at most 200 values from one record', () => {
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
    expect(Object.keys(boundedFields(many, 'custom_attributes'))).toHaveLength(200);
  });
});
