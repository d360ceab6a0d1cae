import { z } from 'zod';
import { event } from '../envelope';
import { Id, IsoDate, Pagination, page, Timestamp } from '../primitives';
import { rpc } from '../rpc';

export const Availability = z.object({
  sessionId: Id,
  sessionName: z.string(),
  date: IsoDate,
  maxSlots: z.number().int(),
  bookedSlots: z.number().int(),
  availableSlots: z.number().int(),
  isAvailable: z.boolean(),
  utilizationPercentage: z.number(),
  lastUpdated: Timestamp,
});
export type Availability = z.infer<typeof Availability>;

/** What SSE clients of the `availability*` channels receive. */
export const AvailabilityUpdated = z.object({
  sessionId: Id,
  date: IsoDate,
  maxSlots: z.number().int(),
  bookedSlots: z.number().int(),
  availableSlots: z.number().int(),
  isAvailable: z.boolean(),
  version: z.number().int(),
});
export type AvailabilityUpdated = z.infer<typeof AvailabilityUpdated>;

export const AvailabilityAlert = z.object({
  type: z.enum(['low_availability', 'no_availability', 'high_demand']),
  sessionId: Id,
  sessionName: z.string(),
  date: IsoDate,
  message: z.string(),
  availableSlots: z.number().int(),
  utilizationPercentage: z.number(),
});

export type AvailabilityAlert = z.infer<typeof AvailabilityAlert>;

export const availabilityEvents = {
  'availability.updated': event('The read model of one session/date changed', AvailabilityUpdated),
};

/**
 * HTTP queries and bodies of the availability API (the gateway validates with these, the service again).
 * Without `sessionId` an answer covers the tenant's active sessions a page at a time, in id
 * order: `limit` sessions at most (fewer if their figures would pass the page's byte budget),
 * and `cursor` (a `nextCursor`) starts after the last session of the page before.
 */
export const AvailabilityQuery = Pagination.extend({ date: IsoDate, sessionId: Id.optional() }).strict();

/** The most dates one range answer covers. */
export const MAX_RANGE_DAYS = 92;
const dayMs = 86_400_000;
export const AvailabilityRangeQuery = Pagination.extend({ from: IsoDate, to: IsoDate, sessionId: Id.optional() })
  .strict()
  .refine((q) => q.from <= q.to, { path: ['to'], message: 'must be on or after from' })
  .refine((q) => (Date.parse(q.to) - Date.parse(q.from)) / dayMs < MAX_RANGE_DAYS, {
    path: ['to'],
    message: `must be at most ${MAX_RANGE_DAYS} days from from`,
  });

export const AvailabilityStatsQuery = z.strictObject({ date: IsoDate, sessionId: Id });

const Days = z.coerce.number().int().min(1).max(90).default(30);
export const AvailabilityTrendsQuery = z.strictObject({ sessionId: Id, days: Days });
export const PeakHoursQuery = z.strictObject({ sessionId: Id, days: Days });
export const AvailabilityAlertsQuery = Pagination.extend({ sessionId: Id.optional() }).strict();
export const RefreshAvailability = z.strictObject({ date: IsoDate, sessionId: Id.optional() });

/** A page of the active sessions' availability on a date. */
export const AvailabilityList = z.object({ items: z.array(Availability), nextCursor: z.string().nullable() });

/** Each date of a range: one session's figures, or those of a page of sessions (`nextCursor` for the next). */
export const AvailabilityRange = z.object({
  from: IsoDate,
  to: IsoDate,
  dates: z.record(IsoDate, z.union([Availability, z.object({ items: z.array(Availability) })])),
  nextCursor: z.string().nullable(),
});

export const AvailabilityTrend = z.object({
  date: IsoDate,
  bookedSlots: z.number().int(),
  availableSlots: z.number().int(),
  utilizationPercentage: z.number(),
});

export const PeakHour = z.object({ hour: z.number().int().min(0).max(23), bookingCount: z.number().int().min(1) });

/** The availability service's RPC operations (`rpc.availability.<op>`). */
export const availabilityRpc = {
  'availability.get': rpc(
    'One session’s availability on a date, or a page of the active sessions’',
    AvailabilityQuery,
    z.union([Availability, AvailabilityList]),
  ),
  'availability.range': rpc(
    'Availability for each date of a range (at most 92 days), of one session or a page of sessions',
    AvailabilityRangeQuery,
    AvailabilityRange,
  ),
  'availability.stats': rpc('One session’s availability figures on a date', AvailabilityStatsQuery, Availability),
  'availability.trends': rpc('Booked and available slots of each of the last days', AvailabilityTrendsQuery, z.array(AvailabilityTrend)),
  'availability.peakHours': rpc('Hours of the day (UTC) confirmed bookings were made in, busiest first', PeakHoursQuery, z.array(PeakHour)),
  'availability.alerts': rpc(
    'Low or no availability today, high demand tomorrow, of one session or a page of sessions',
    AvailabilityAlertsQuery,
    page(AvailabilityAlert),
  ),
  'availability.refresh': rpc(
    'Rebuild a date’s entries from the capacity service and re-broadcast them; answers their first page',
    RefreshAvailability,
    AvailabilityList,
  ),
} as const;

export type AvailabilityRpc = typeof availabilityRpc;
