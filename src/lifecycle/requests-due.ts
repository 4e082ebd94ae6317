/**
 * When a data subject's request must be answered: GDPR Art. 12(3) gives one month from receipt,
 * extendable by two further months. Periods in months are counted as EU law counts them (Regulation
 * 1182/71, Art. 3): the period ends with the last hour of the day with the same date in the last
 * month, or of that month's last day when it has no such date (31 January -> 28/29 February), in the
 * controller's time zone. Art. 3(4) would move an end on a weekend or public holiday to the next
 * working day; that is not applied, so the date given is never later than the law's.
 */
export function requestDueAt(receivedAt: Date, months: number, timeZone: string): Date {
  const { year, month, day } = localDate(receivedAt, timeZone);
  const targetMonth = month - 1 + months;
  const targetYear = year + Math.floor(targetMonth / 12);
  const monthIndex = ((targetMonth % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(targetYear, monthIndex + 1, 0)).getUTCDate();
  const dueDay = Math.min(day, lastDay);
  // The end of the due day is the instant the next local day begins, less a millisecond.
  return new Date(localMidnight(targetYear, monthIndex, dueDay + 1, timeZone).getTime() - 1);
}

interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function parts(at: Date, timeZone: string): Record<string, number> {
  return Object.fromEntries(
    formatter(timeZone)
      .formatToParts(at)
      .filter((p) => p.type !== 'literal')
      .map((p) => [p.type, Number(p.value)]),
  );
}

function localDate(at: Date, timeZone: string): LocalDate {
  const p = parts(at, timeZone);
  return { year: p.year!, month: p.month!, day: p.day! };
}

/** The UTC instant of local 00:00 on (year, monthIndex 0-11, day); day may run past the month's end. */
function localMidnight(year: number, monthIndex: number, day: number, timeZone: string): Date {
  const asUtc = Date.UTC(year, monthIndex, day);
  // offset = local - UTC at the guess; corrected once more in case the guess sat across a DST change.
  let guess = asUtc - offsetAt(new Date(asUtc), timeZone);
  guess = asUtc - offsetAt(new Date(guess), timeZone);
  return new Date(guess);
}

function offsetAt(at: Date, timeZone: string): number {
  const p = parts(at, timeZone);
  const asIfUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return asIfUtc - Math.floor(at.getTime() / 1000) * 1000;
}
