import type { CapacityRpc } from '@allot/contracts';
import { AppError } from '@allot/contracts';
import { type Handlers, lazyInstruments, toPage } from '@allot/kit';
import { cancelBooking, confirmBooking, createBooking } from '../bookings';
import type { Capacity } from '../context';
import { toBooking } from '../store/bookings';
import { processQueue } from '../waitlist';

/** Bookings by result (SPEC §10): confirmed, held, capacity_exhausted, session_inactive, … */
const metrics = lazyInstruments((meter) => ({
  bookings: meter.createCounter('allot_bookings_total', { description: 'Booking requests by result' }),
}));

/** Bookings and holds (SPEC §4). */
export const bookingHandlers = (cap: Capacity) =>
  ({
    'booking.create': async (input, { tenantId, actor }) => {
      try {
        const booking = await createBooking(cap, tenantId, actor, input);
        metrics().bookings.add(1, { result: booking.status });
        return booking;
      } catch (error) {
        metrics().bookings.add(1, { result: error instanceof AppError ? error.code : 'internal' });
        throw error;
      }
    },
    'booking.confirm': ({ id }, { tenantId, actor }) => confirmBooking(cap, tenantId, actor, id),
    'booking.cancel': async ({ id }, { tenantId, actor }) => {
      const cancelled = await cancelBooking(cap, tenantId, actor, id);
      await processQueue(cap, tenantId, cancelled.sessionId, cancelled.date); // the freed slots go to the waitlist
      return cancelled;
    },
    'booking.get': ({ id }, { tenantId, actor }) => cap.bookings.visible(tenantId, id, actor),
    'booking.list': async ({ limit, cursor, ...filter }, { tenantId, actor }) => {
      // A user sees only its own bookings, whatever it asks for.
      const userId = actor.kind === 'user' ? actor.userId : filter.userId;
      return toPage(await cap.bookings.list(tenantId, { ...filter, userId }, limit + 1, cursor), limit, toBooking);
    },
  }) satisfies Partial<Handlers<CapacityRpc>>;
