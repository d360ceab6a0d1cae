/** UTC calendar dates (`YYYY-MM-DD`) as the queries step through them. Pure. */
const DAY_MS = 86_400_000;

export const dateOf = (instant: Date) => instant.toISOString().slice(0, 10);

export const shiftDate = (date: string, days: number) => dateOf(new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS));

/** `from` through `to`, both included (the contracts bound the span). */
export function datesFrom(from: string, to: string): string[] {
  const dates: string[] = [];
  for (let date = from; date <= to; date = shiftDate(date, 1)) dates.push(date);
  return dates;
}

/** The last `days` dates, ending with the date of `now`. */
export const lastDates = (now: Date, days: number) => datesFrom(shiftDate(dateOf(now), 1 - days), dateOf(now));
