import { z } from 'zod';
import { Bool, Id, IsoDate, Pagination, page, UserId } from '../primitives';
import { platformRpc, rpc } from '../rpc';
import {
  Booking,
  BookingStatus,
  BookingType,
  CapacityAlert,
  OfferMinutes,
  QueueEntry,
  QueueEntryStatus,
  QueuePromotion,
  Session,
  SlotSnapshot,
} from './capacity';
import { importRpc } from './imports';
import { reportRpc } from './reports';

/** HTTP request bodies and queries of the capacity API (the gateway validates with these, the service again). */
export const CreateSession = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).default(''),
  maxCapacity: z.number().int().min(1).max(1_000_000),
  isActive: z.boolean().default(true),
  queuePromotion: QueuePromotion.default('confirm'),
  offerMinutes: OfferMinutes.default(30),
});

export const UpdateSession = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000),
    isActive: z.boolean(),
    queuePromotion: QueuePromotion,
    offerMinutes: OfferMinutes,
  })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'name at least one field to change');

export const ListSessions = Pagination.extend({ active: Bool.optional() }).strict();

export const SetCapacity = z.strictObject({
  maxCapacity: z.number().int().min(1).max(1_000_000),
  date: IsoDate.optional(),
  reason: z.string().max(500).optional(),
});

export const CapacityAdjusted = z.object({
  sessionId: Id,
  date: IsoDate.nullable(),
  oldCapacity: z.number().int(),
  newCapacity: z.number().int(),
  reason: z.string().nullable(),
});

export const CheckCapacity = z
  .object({
    sessionId: Id,
    date: IsoDate,
    slots: z.coerce.number().int().min(1).max(1_000_000),
  })
  .strict();

export const CapacityCheckResult = z.object({
  status: z.enum(['available', 'queue_required']),
  availableSlots: z.number().int(),
  canBook: z.boolean(),
  queuePosition: z.number().int().optional(),
  estimatedWaitMinutes: z.number().int().optional(),
});

export const CreateBooking = z.strictObject({
  sessionId: Id,
  date: IsoDate,
  adults: z.number().int().min(1).max(10_000),
  children: z.number().int().min(0).max(10_000).default(0),
  bookingType: BookingType.default('regular'),
  hold: z.boolean().default(false),
  userId: UserId.optional(),
});

export const ListBookings = Pagination.extend({
  sessionId: Id.optional(),
  date: IsoDate.optional(),
  userId: UserId.optional(),
  status: BookingStatus.optional(),
}).strict();

export const JoinQueue = z.strictObject({
  sessionId: Id,
  date: IsoDate,
  requestedSlots: z.number().int().min(1).max(10_000),
  bookingType: BookingType.default('regular'),
  userId: UserId.optional(),
  guestId: z.string().min(1).max(128).optional(),
});

export const SessionDate = z.object({ sessionId: Id, date: IsoDate }).strict();

/**
 * `GET /v1/queue/status`: the totals of the whole waitlist and a page of its entries in position
 * order; `cursor` (a `nextCursor`) starts after the position the page before ended on.
 */
export const QueueStatusQuery = Pagination.extend({ sessionId: Id, date: IsoDate }).strict();

/** `GET /v1/capacity/alerts`: one session's, or a page of the active sessions' (`limit` counts sessions). */
export const CapacityAlertsQuery = Pagination.extend({ sessionId: Id.optional() }).strict();

export const QueueStatus = z.object({
  totalInQueue: z.number().int(),
  totalRequestedSlots: z.number().int(),
  averageWaitMinutes: z.number(),
  entries: z.array(
    z.object({
      id: Id,
      position: z.number().int(),
      requestedSlots: z.number().int(),
      priority: z.number().int(),
      estimatedWaitMinutes: z.number().int(),
      expiresAt: z.string(),
    }),
  ),
  nextCursor: z.string().nullable(),
});

export const AnalyticsQuery = z.object({ from: IsoDate.optional(), to: IsoDate.optional() }).strict();

export const Analytics = z.object({
  sessionId: Id,
  sessionName: z.string(),
  period: z.object({ from: IsoDate, to: IsoDate }),
  capacityStats: z.object({
    maxCapacity: z.number().int(),
    averageUtilization: z.number(),
    peakUtilization: z.number(),
    shortageDays: z.number().int(),
  }),
  queueStats: z.object({
    totalEntries: z.number().int(),
    completed: z.number().int(),
    cancelled: z.number().int(),
    expired: z.number().int(),
    averageWaitMinutes: z.number(),
    averagePosition: z.number(),
  }),
  recommendations: z.array(
    z.object({
      type: z.enum(['increase_capacity', 'add_session', 'decrease_capacity']),
      message: z.string(),
      priority: z.enum(['high', 'medium', 'low']),
    }),
  ),
});

/**
 * A tenant's limits against hoarding: the largest party of one booking or waitlist entry, the
 * slots one user may hold at once, the waitlist entries one user may have pending, and the slots
 * one user token may have confirmed on one session and date.
 */
export const HoardingLimits = z.object({
  maxPartySize: z.number().int().min(1).max(10_000),
  maxHeldSlotsPerUser: z.number().int().min(1).max(1_000_000),
  maxPendingEntriesPerUser: z.number().int().min(1).max(10_000),
  maxConfirmedSlotsPerUser: z.number().int().min(1).max(1_000_000),
});
export type HoardingLimits = z.infer<typeof HoardingLimits>;

export const UpdateHoardingLimits = HoardingLimits.partial()
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, 'name at least one limit to change');

/**
 * What read models (availability) rebuild from when the event stream no longer holds what they
 * missed, or on an admin's refresh: the stored state with its versions, in `_id` order, paged.
 */
export const ReadModelQuery = z.strictObject({
  tenantId: Id.optional(),
  sessionId: Id.optional(),
  date: IsoDate.optional(),
  after: z.string().min(1).max(512).optional(),
  limit: z.number().int().min(1).max(1000).default(500),
});
const readModelPage = <T extends z.ZodRawShape>(item: T) =>
  z.object({ items: z.array(z.object({ tenantId: Id, ...item })), nextCursor: z.string().nullable() });

const byId = z.object({ id: Id });
const QueueList = Pagination.extend({ status: QueueEntryStatus.optional() }).strict();

/** The capacity service's RPC operations (`rpc.capacity.<op>`). */
export const capacityRpc = {
  'session.create': rpc('Create a session', CreateSession, Session),
  'session.list': rpc('List sessions', ListSessions, page(Session)),
  'session.get': rpc('Get a session', byId, Session),
  'session.update': rpc('Update a session', z.object({ id: Id, patch: UpdateSession }), Session),
  'capacity.set': rpc('Set the default or one date’s capacity', SetCapacity.extend({ sessionId: Id }), CapacityAdjusted),
  'capacity.check': rpc('Check capacity for a number of slots', CheckCapacity, CapacityCheckResult),
  'booking.create': rpc('Book slots (confirmed, or held until confirmed)', CreateBooking, Booking),
  'booking.confirm': rpc('Confirm a held booking', byId, Booking),
  'booking.cancel': rpc('Cancel a booking and free its slots', byId, Booking),
  'booking.get': rpc('Get a booking', byId, Booking),
  'booking.list': rpc('List bookings', ListBookings, page(Booking)),
  'queue.join': rpc('Join the waitlist of a session/date', JoinQueue, QueueEntry),
  'queue.status': rpc('The waitlist of a session/date: its totals and a page of its entries', QueueStatusQuery, QueueStatus),
  'queue.get': rpc('Get a waitlist entry', byId, QueueEntry),
  'queue.cancel': rpc('Leave the waitlist', byId, QueueEntry),
  'queue.mine': rpc("The user's waitlist entries, newest first", QueueList, page(QueueEntry)),
  'queue.process': rpc('Promote waitlist entries that fit', SessionDate, z.object({ promoted: z.number().int() })),
  'session.analytics': rpc('Capacity and queue analytics of a session', AnalyticsQuery.extend({ sessionId: Id }), Analytics),
  'limits.get': rpc("The tenant's limits against hoarding", z.object({}).strict(), HoardingLimits),
  'limits.set': rpc("Change the tenant's limits against hoarding", UpdateHoardingLimits, HoardingLimits),
  'capacity.alerts': rpc("Today's capacity alerts of one session or a page of sessions", CapacityAlertsQuery, page(CapacityAlert)),
  'readModel.sessions': platformRpc(
    'Sessions with their versions (read-model rebuilds)',
    ReadModelQuery.omit({ date: true }),
    readModelPage({ session: Session, version: z.number().int().min(0) }),
  ),
  'readModel.slots': platformRpc(
    'Slot ledgers of session/dates (read-model rebuilds)',
    ReadModelQuery,
    readModelPage({ slots: SlotSnapshot }),
  ),
  ...importRpc,
  ...reportRpc,
  'readModel.bookings': platformRpc('Bookings in any state (read-model rebuilds)', ReadModelQuery, readModelPage({ booking: Booking })),
} as const;

export type CapacityRpc = typeof capacityRpc;
