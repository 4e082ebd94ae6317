/**
 * When a subscription ends, erasure falls due at the first month boundary after the end, in the
 * policy's time zone (Europe/Stockholm): local midnight on the 1st of the next month. An end exactly
 * on a boundary (local 00:00:00.000 on the 1st) is due at that instant: the boundary it ends on is
 * the first one reached, and waiting a month more would keep data without a reason.
 * Local midnight on the 1st never falls in a DST gap (Europe shifts at 02:00/03:00 on a Sunday),
 * but the UTC offset of the boundary can differ from the end's, so it is computed at the boundary.
 */
export function erasureDueAt(subscriptionEnd: Date, timeZone: string): Date {
  const local = localParts(subscriptionEnd, timeZone);
  if (
    local.day === 1 &&
    local.hour === 0 &&
    local.minute === 0 &&
    local.second === 0 &&
    subscriptionEnd.getUTCMilliseconds() === 0
  ) {
    return new Date(subscriptionEnd.getTime());
  }
  const year = local.month === 12 ? local.year + 1 : local.year;
  const month = local.month === 12 ? 1 : local.month + 1;
  return localMidnight(year, month, 1, timeZone);
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function localParts(at: Date, timeZone: string): Parts {
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
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return {
    year: +parts.year!,
    month: +parts.month!,
    day: +parts.day!,
    hour: +parts.hour!,
    minute: +parts.minute!,
    second: +parts.second!,
  };
}

/** The UTC instant of local 00:00 on the given date. */
function localMidnight(year: number, month: number, day: number, timeZone: string): Date {
  const asUtc = Date.UTC(year, month - 1, day);
  // offset = local - utc at the guess; correct once more in case the guess sat across a DST change.
  let guess = asUtc - offsetAt(new Date(asUtc), timeZone);
  guess = asUtc - offsetAt(new Date(guess), timeZone);
  return new Date(guess);
}

function offsetAt(at: Date, timeZone: string): number {
  const p = localParts(at, timeZone);
  const asIfUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asIfUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * The directives reconcile sees. Level-triggered, like everything else: until the subject is
 * tombstoned (erasure ran, or was requested), when erasure falls due follows the master record as it
 * is now, so a renewal (the end removed) cancels a pending erasure and a later end moves it. Without
 * a record the stored schedule stands. processDueErasures() re-reads the record before it tombstones.
 */
export function withSubscriptionEnd<D extends { erasureDueAt: Date | null; tombstoned: boolean }>(
  directives: D,
  record: { readonly subscriptionEnd: Date | null } | null,
  timeZone: string,
): D {
  if (!record || directives.tombstoned) return directives;
  const stored = directives.erasureDueAt;
  const due = record.subscriptionEnd ? erasureDueAt(record.subscriptionEnd, timeZone) : null;
  return due?.getTime() === stored?.getTime() ? directives : { ...directives, erasureDueAt: due };
}
