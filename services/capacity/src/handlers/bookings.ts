import { AppError, type CapacityRpc } from '@allot/contracts';
import { type Handlers, lazyInstruments, toPage } from '@allot/kit';
import { cancelBooking, confirmBooking, createBooking } from '../bookings';
import type { Capacity } from '../context';
import { checkAlerts } from '../insights';
import { toBooking } from '../store/bookings';
import { processQueue } from '../waitlist';

/** Bookings by result, a metric: confirmed, held, capacity_exhausted, session_inactive, … */
const metrics = lazyInstruments((meter) => ({
  bookings: meter.createCounter('allot_bookings_total', { description: 'Booking requests by result' }),
}));

/**
 * Bookings and holds. Once a booking change is on the ledger the request succeeds:
 * what follows (alerts, offering freed slots to the waitlist) is retried by the sweep if it fails.
 */
export const bookingHandlers = (cap: Capacity) => {
  const afterwards = (work: Promise<unknown>, what: string) =>
    work.catch((error) => cap.log.warn({ err: error }, `${what} failed; the sweep will retry`));
  return {
    'booking.create': async (input, { tenantId, actor, idempotencyKey }) => {
      try {
        const { booking, session, ledger } = await createBooking(cap, tenantId, actor, input, idempotencyKey);
        metrics().bookings.add(1, { result: booking.status });
        await afterwards(checkAlerts(cap, tenantId, session, booking.date, ledger), 'checking alerts');
        return booking;
      } catch (error) {
        metrics().bookings.add(1, { result: error instanceof AppError ? error.code : 'internal' });
        throw error;
      }
    },
    'booking.confirm': ({ id }, { tenantId, actor }) => confirmBooking(cap, tenantId, actor, id),
    'booking.cancel': async ({ id }, { tenantId, actor }) => {
      const cancelled = await cancelBooking(cap, tenantId, actor, id);
      await afterwards(processQueue(cap, tenantId, cancelled.sessionId, cancelled.date), 'queue processing');
      return cancelled;
    },
    'booking.get': ({ id }, { tenantId, actor }) => cap.bookings.visible(tenantId, id, actor),
    'booking.list': async ({ limit, cursor, ...filter }, { tenantId, actor }) => {
      // A user sees only its own bookings, whatever it asks for.
      const userId = actor.kind === 'user' ? actor.userId : filter.userId;
      return toPage(await cap.bookings.list(tenantId, { ...filter, userId }, limit + 1, cursor), limit, toBooking);
    },
  } satisfies Partial<Handlers<CapacityRpc>>;
};
