import { describe, expect, it } from 'vitest';
import { erasureDueAt, withSubscriptionEnd } from '../../src/erasure-schedule.ts';

const tz = 'Europe/Stockholm';
const due = (iso: string) => erasureDueAt(new Date(iso), tz).toISOString();

describe('erasureDueAt: the first month boundary after the end, Stockholm time', () => {
  it('an end at 23:59 local on 31 January is due at local midnight on 1 February (CET, UTC+1)', () => {
    expect(due('2026-01-31T22:59:00Z')).toBe('2026-01-31T23:00:00.000Z');
    expect(due('2026-01-31T22:59:59.999Z')).toBe('2026-01-31T23:00:00.000Z');
  });

  it('an end early on 1 February local time (still 31 January in UTC) waits for 1 March', () => {
    expect(due('2026-01-31T23:30:00Z')).toBe('2026-02-28T23:00:00.000Z');
  });

  it('an end exactly on a boundary is due at that instant; one millisecond later, at the next', () => {
    expect(due('2026-01-31T23:00:00.000Z')).toBe('2026-01-31T23:00:00.000Z');
    expect(due('2026-01-31T23:00:00.001Z')).toBe('2026-02-28T23:00:00.000Z');
    expect(due('2026-01-31T23:00:01.000Z')).toBe('2026-02-28T23:00:00.000Z');
    // The April boundary is in summer time (UTC+2).
    expect(due('2026-03-31T22:00:00.000Z')).toBe('2026-03-31T22:00:00.000Z');
  });

  it('ends in the last days of March, around the spring change (29 March 2026, 02:00 -> 03:00), are due at 1 April 00:00 CEST', () => {
    const april = '2026-03-31T22:00:00.000Z';
    expect(due('2026-03-28T12:00:00Z')).toBe(april); // before the change, CET
    expect(due('2026-03-29T00:59:59Z')).toBe(april); // 01:59:59 CET, the last second before the gap
    expect(due('2026-03-29T01:00:00Z')).toBe(april); // 03:00 CEST, just after it
    expect(due('2026-03-31T21:59:59Z')).toBe(april); // 23:59:59 CEST on 31 March
    // 31 March 23:30 UTC is already 1 April 01:30 local: the next boundary is 1 May.
    expect(due('2026-03-31T23:30:00Z')).toBe('2026-04-30T22:00:00.000Z');
  });

  it('ends in the last days of October, around the autumn change (25 October 2026, 03:00 -> 02:00), are due at 1 November 00:00 CET', () => {
    const november = '2026-10-31T23:00:00.000Z';
    expect(due('2026-10-24T12:00:00Z')).toBe(november); // CEST
    expect(due('2026-10-25T00:30:00Z')).toBe(november); // 02:30 CEST, first pass
    expect(due('2026-10-25T01:30:00Z')).toBe(november); // 02:30 CET, the repeated hour
    expect(due('2026-10-31T22:59:59Z')).toBe(november); // 23:59:59 CET on 31 October
    // 31 October 22:30 UTC is 23:30 local (CET): still October. A summer-time offset would say 00:30 November.
    expect(due('2026-10-31T22:30:00Z')).toBe(november);
  });

  it('December rolls over to 1 January of the next year', () => {
    expect(due('2026-12-15T10:00:00Z')).toBe('2026-12-31T23:00:00.000Z');
  });
});

describe('withSubscriptionEnd', () => {
  const base = { tombstoned: false, erasureDueAt: null as Date | null, restricted: false, consent: {} };

  const record = (end: string | null) => ({ subscriptionEnd: end ? new Date(end) : null });

  it('follows the record as it is now: an end sets the due time, a later end moves it, a renewal cancels it', () => {
    expect(withSubscriptionEnd(base, record('2026-01-31T22:59:00Z'), tz).erasureDueAt?.toISOString()).toBe(
      '2026-01-31T23:00:00.000Z',
    );
    const pending = { ...base, erasureDueAt: new Date('2026-01-31T23:00:00Z') };
    expect(withSubscriptionEnd(pending, record('2026-03-10T12:00:00Z'), tz).erasureDueAt?.toISOString()).toBe(
      '2026-03-31T22:00:00.000Z',
    );
    expect(withSubscriptionEnd(pending, record(null), tz).erasureDueAt).toBeNull();
    expect(withSubscriptionEnd(pending, record('2026-01-20T00:00:00Z'), tz)).toBe(pending);
  });

  it('keeps the schedule once the subject is tombstoned, and when there is no record', () => {
    const tombstoned = { ...base, tombstoned: true, erasureDueAt: new Date('2026-01-31T23:00:00Z') };
    expect(withSubscriptionEnd(tombstoned, record(null), tz)).toBe(tombstoned);
    const pending = { ...base, erasureDueAt: new Date('2026-01-31T23:00:00Z') };
    expect(withSubscriptionEnd(pending, null, tz)).toBe(pending);
  });
});
