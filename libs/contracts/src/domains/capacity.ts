import { z } from 'zod';
import { event } from '../envelope';
import { Id, IsoDate, Timestamp, UserId } from '../primitives';
import { ImportUpdated } from './imports';
import { ReportUpdated } from './reports';

export const BookingType = z.enum(['regular', 'private_silver', 'private_gold']);
export type BookingType = z.infer<typeof BookingType>;
export const QueuePromotion = z.enum(['confirm', 'offer']);
/** How long a waitlist offer is held; fractions allowed (0.5 = 30 s), up to a week. */
export const OfferMinutes = z
  .number()
  .min(0.05)
  .max(7 * 24 * 60);

export const Session = z.object({
  id: Id,
  name: z.string().min(1).max(200),
  description: z.string().max(2000),
  maxCapacity: z.number().int().min(1),
  isActive: z.boolean(),
  queuePromotion: QueuePromotion,
  offerMinutes: OfferMinutes,
  /** The tenant's own id of the session, given by an import (docs/api.md, Imports); imported again, the session is updated. */
  externalId: z.string().optional(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Session = z.infer<typeof Session>;

export const BookingStatus = z.enum(['held', 'confirmed', 'cancelled', 'expired']);
export const Booking = z.object({
  id: Id,
  sessionId: Id,
  date: IsoDate,
  adults: z.number().int().min(1),
  children: z.number().int().min(0),
  slots: z.number().int().min(1),
  bookingType: BookingType,
  userId: UserId.nullable(),
  status: BookingStatus,
  source: z.enum(['direct', 'queue']),
  queueEntryId: Id.nullable(),
  holdExpiresAt: Timestamp.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Booking = z.infer<typeof Booking>;

export const QueueEntryStatus = z.enum(['pending', 'completed', 'cancelled', 'expired']);
export const QueueEntry = z.object({
  id: Id,
  sessionId: Id,
  date: IsoDate,
  requestedSlots: z.number().int().min(1),
  userId: UserId.nullable(),
  guestId: z.string().nullable(),
  bookingType: BookingType,
  priority: z.number().int(),
  status: QueueEntryStatus,
  position: z.number().int().min(1).nullable(),
  estimatedWaitMinutes: z.number().int().min(0).nullable(),
  expiresAt: Timestamp,
  bookingId: Id.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type QueueEntry = z.infer<typeof QueueEntry>;

/**
 * The slot figures of one session/date after a change. `version` increases with every change
 * of that session/date, so read models apply an event only if it is newer than what they hold.
 */
export const SlotSnapshot = z.object({
  sessionId: Id,
  date: IsoDate,
  maxSlots: z.number().int().min(0),
  bookedSlots: z.number().int().min(0),
  availableSlots: z.number().int(),
  version: z.number().int().min(0),
});
export type SlotSnapshot = z.infer<typeof SlotSnapshot>;

export const CapacityAlertType = z.enum(['high_utilization', 'long_queue', 'capacity_shortage']);
export type CapacityAlertType = z.infer<typeof CapacityAlertType>;
export const CapacityAlert = z.object({
  type: CapacityAlertType,
  sessionId: Id,
  sessionName: z.string(),
  date: IsoDate,
  message: z.string(),
  utilizationPercentage: z.number().optional(),
  pendingEntries: z.number().int().optional(),
  availableSlots: z.number().int().optional(),
});
export type CapacityAlert = z.infer<typeof CapacityAlert>;

const bookingChange = z.object({
  booking: Booking,
  slots: SlotSnapshot,
  /** The import that brought the booking in from another system (its `booking.confirmed` only): nobody is notified of it. */
  importId: z.string().optional(),
});

/**
 * The session's version after the change: it increases with every change of the session, so
 * read models apply a session event only if it is newer than what they hold. Optional only for
 * events published before it existed.
 */
const SessionVersion = z.number().int().min(1).optional();
const sessionChange = z.object({ session: Session, sessionVersion: SessionVersion });
const queueChange = z.object({ entry: QueueEntry });

export const capacityEvents = {
  'report.updated': event('A report changed status or progressed (docs/api.md, Reports)', ReportUpdated),
  'import.updated': event('A bulk import changed status or progressed (a batch of rows was counted)', ImportUpdated),
  'session.created': event('A session was created', sessionChange),
  'session.updated': event('A session was updated (deactivation included)', sessionChange),
  'capacity.adjusted': event(
    "A session's capacity changed (default for every date, or one date's override)",
    z.object({
      sessionId: Id,
      date: IsoDate.nullable(),
      oldCapacity: z.number().int(),
      newCapacity: z.number().int(),
      reason: z.string().nullable(),
      slots: SlotSnapshot.nullable(),
      /** Set when the session's default changed (`date` null). */
      sessionVersion: SessionVersion,
    }),
  ),
  'booking.held': event('A booking holds slots until it is confirmed or expires', bookingChange),
  'booking.confirmed': event('A booking was confirmed', bookingChange),
  'booking.cancelled': event('A booking was cancelled and its slots freed', bookingChange),
  'booking.expired': event('A hold (or queue offer) expired and its slots were freed', bookingChange),
  'queue.joined': event('An entry joined the waitlist', queueChange),
  'queue.promoted': event('A waitlist entry became a booking', z.object({ entry: QueueEntry, booking: Booking })),
  'queue.cancelled': event('A waitlist entry was cancelled', queueChange),
  'queue.expired': event('A waitlist entry expired unserved', queueChange),
  'alert.raised': event('A capacity alert threshold was crossed', CapacityAlert),
};
