import { z } from 'zod';
import { event } from '../envelope';
import { Id, IsoDate, Timestamp } from '../primitives';

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

export const AvailabilityAlert = z.object({
  type: z.enum(['low_availability', 'no_availability', 'high_demand']),
  sessionId: Id,
  sessionName: z.string(),
  date: IsoDate,
  message: z.string(),
  availableSlots: z.number().int(),
  utilizationPercentage: z.number(),
});

export const availabilityEvents = {
  'availability.updated': event('The read model of one session/date changed', AvailabilityUpdated),
};
