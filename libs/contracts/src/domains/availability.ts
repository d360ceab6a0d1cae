import { z } from 'zod';
import { event } from '../envelope';
import { Id, IsoDate, Timestamp } from '../primitives';
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

/** HTTP queries and bodies of SPEC §5 (the gateway validates with these, the service again). */
export const AvailabilityQuery = z.strictObject({ date: IsoDate, sessionId: Id.optional() });

/** The most dates one range answer covers. */
export const MAX_RANGE_DAYS = 92;
const dayMs = 86_400_000;
export const AvailabilityRangeQuery = z
  .strictObject({ from: IsoDate, to: IsoDate, sessionId: Id.optional() })
  .refine((q) => q.from <= q.to, { path: ['to'], message: 'must be on or after from' })
  .refine((q) => (Date.parse(q.to) - Date.parse(q.from)) / dayMs < MAX_RANGE_DAYS, {
    path: ['to'],
    message: `must be at most ${MAX_RANGE_DAYS} days from from`,
  });

export const AvailabilityStatsQuery = z.strictObject({ date: IsoDate, sessionId: Id });

const Days = z.coerce.number().int().min(1).max(90).default(30);
export const AvailabilityTrendsQuery = z.strictObject({ sessionId: Id, days: Days });
export const PeakHoursQuery = z.strictObject({ sessionId: Id, days: Days });
export const AvailabilityAlertsQuery = z.strictObject({ sessionId: Id.optional() });
export const RefreshAvailability = z.strictObject({ date: IsoDate, sessionId: Id.optional() });

/** Every active session's availability on a date. */
export const AvailabilityList = z.object({ items: z.array(Availability) });

export const AvailabilityRange = z.object({
  from: IsoDate,
  to: IsoDate,
  dates: z.record(IsoDate, z.union([Availability, AvailabilityList])),
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
    'One session’s availability on a date, or every active session’s',
    AvailabilityQuery,
    z.union([Availability, AvailabilityList]),
  ),
  'availability.range': rpc('Availability for each date of a range (at most 92 days)', AvailabilityRangeQuery, AvailabilityRange),
  'availability.stats': rpc('One session’s availability figures on a date', AvailabilityStatsQuery, Availability),
  'availability.trends': rpc('Booked and available slots of each of the last days', AvailabilityTrendsQuery, z.array(AvailabilityTrend)),
  'availability.peakHours': rpc('Hours of the day (UTC) confirmed bookings were made in, busiest first', PeakHoursQuery, z.array(PeakHour)),
  'availability.alerts': rpc(
    'Low or no availability today, high demand tomorrow',
    AvailabilityAlertsQuery,
    z.object({ items: z.array(AvailabilityAlert) }),
  ),
  'availability.refresh': rpc(
    'Rebuild a date’s entries from the capacity service and re-broadcast them',
    RefreshAvailability,
    AvailabilityList,
  ),
} as const;

export type AvailabilityRpc = typeof availabilityRpc;
