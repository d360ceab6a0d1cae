/**
 * Calendar-date arithmetic on `YYYY-MM-DD` strings. Every date in Allot is a UTC calendar date
 * (docs/api.md), so all arithmetic runs on UTC midnights: local time zones and DST never shift a day.
 */

const DAY_MS = 86_400_000;
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** Parses `YYYY-MM-DD` to its UTC midnight in milliseconds; throws on anything that is not a real date. */
function utcMidnight(date: string): number {
  // Date would silently roll 2025-02-30 over to March, so a round trip proves the date is real.
  const ms = DATE_PATTERN.test(date) ? Date.parse(`${date}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new RangeError(`not a calendar date: ${date}`);
  }
  return ms;
}

/** The UTC calendar date (`YYYY-MM-DD`) of the instant `now`. */
export function todayUtc(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/**
 * The date `days` calendar days after `date` (negative goes back).
 * Throws a RangeError for a malformed or impossible date or a non-integer day count.
 */
export function addDays(date: string, days: number): string {
  if (!Number.isInteger(days)) throw new RangeError(`not a whole number of days: ${days}`);
  return new Date(utcMidnight(date) + days * DAY_MS).toISOString().slice(0, 10);
}

/** True when `date` lies strictly before today (UTC) at `now`; today itself is not past. */
export function isPastDate(date: string, now: Date): boolean {
  // Fixed-width YYYY-MM-DD strings order lexicographically exactly as the dates do.
  return date < todayUtc(now);
}
