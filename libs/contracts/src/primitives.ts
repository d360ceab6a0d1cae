import { z } from 'zod';

/** IDs are `<prefix>_<ULID>`: strings that sort by creation time. */
export const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be an id');

/** The dates Allot accepts (docs/api.md): anything outside is a typo or an attack on date arithmetic. */
export const FIRST_DATE = '2000-01-01';
export const LAST_DATE = '2100-12-31';

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether `YYYY-MM-DD` names a day of the Gregorian calendar, by arithmetic: every event and
 * request with a date is checked, and a `Date` built and printed for each cost 2 µs.
 */
function isCalendarDate(s: string): boolean {
  const year = Number(s.slice(0, 4));
  const month = Number(s.slice(5, 7));
  const day = Number(s.slice(8, 10));
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number));
}

/** A calendar date `YYYY-MM-DD` (UTC) that really exists (no 2025-02-30), from 2000 to 2100. */
export const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine(isCalendarDate, 'must be a real calendar date')
  .refine((s) => s >= FIRST_DATE && s <= LAST_DATE, `must be between ${FIRST_DATE} and ${LAST_DATE}`);

/** An ISO 8601 UTC timestamp. */
export const Timestamp = z.string().datetime();

/** `?limit=` and `?cursor=` of every list (docs/api.md, Lists and answer sizes). */
export const Pagination = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(512).optional(),
});

/** `{ items, nextCursor }` of every list. */
export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** A user id as clients send it (opaque to us; it names a subject in the tenant's own system). */
export const UserId = z.string().min(1).max(128);

/** A boolean query parameter: "true"/"false" over HTTP, a boolean once parsed (the same schema validates both hops). */
export const Bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
