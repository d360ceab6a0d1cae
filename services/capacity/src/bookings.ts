import { type Actor, AppError, type Booking, type CreateBooking } from '@allot/contracts';
import { newId } from '@allot/kit';
import type { z } from 'zod';
import type { Capacity } from './context';
import { newBooking, revise } from './domain/bookings';
import { isPastDate } from './domain/dates';
import { checkAlerts } from './insights';
import { exhausted } from './ledger';

/** Books slots on the ledger: confirmed at once, or held until confirmed or expired. */
export async function createBooking(
  cap: Capacity,
  tenantId: string,
  actor: Actor,
  input: z.output<typeof CreateBooking>,
): Promise<Booking> {
  const session = await cap.sessions.recent(tenantId, input.sessionId);
  if (!session.isActive) throw new AppError('session_inactive', 'The session is not taking bookings');
  const now = cap.clock.now();
  if (isPastDate(input.date, now)) {
    throw new AppError('validation_failed', 'The date is in the past', { errors: [{ path: 'date', message: 'must be today or later' }] });
  }
  const booking = newBooking(
    {
      id: newId('bk'),
      sessionId: session._id,
      date: input.date,
      adults: input.adults,
      children: input.children,
      bookingType: input.bookingType,
      userId: actor.kind === 'user' ? actor.userId : (input.userId ?? null),
      status: input.hold ? 'held' : 'confirmed',
      source: 'direct',
      queueEntryId: null,
      holdExpiresAt: input.hold ? new Date(now.getTime() + cap.config.HOLD_TTL_SECONDS * 1000).toISOString() : null,
    },
    now,
  );
  // The default capacity is read fresh: the cached session may predate a capacity change.
  const defaultCapacity = async () => (await cap.sessions.get(tenantId, session._id)).maxCapacity;
  const ledger = await cap.ledger.book(tenantId, booking, { defaultCapacity });
  if (!ledger) throw exhausted((await cap.ledger.find(tenantId, session._id, input.date))?.available);
  await checkAlerts(cap, tenantId, session, input.date, ledger);
  return booking;
}

/** held → confirmed, before the hold expires. */
export async function confirmBooking(cap: Capacity, tenantId: string, actor: Actor, id: string): Promise<Booking> {
  const booking = await cap.bookings.visible(tenantId, id, actor);
  const now = cap.clock.now();
  if (booking.status !== 'held') throw new AppError('invalid_state', `A ${booking.status} booking cannot be confirmed`);
  if (booking.holdExpiresAt && booking.holdExpiresAt <= now.toISOString()) throw new AppError('invalid_state', 'The hold has expired');
  const confirmed = revise(booking, { status: 'confirmed' }, now);
  if (!(await cap.ledger.confirm(tenantId, confirmed))) throw new AppError('invalid_state', 'The booking is no longer held');
  return confirmed;
}

/**
 * Frees a booking's slots (cancel by a client, expiry of a hold or an offer); undefined if they
 * were freed already. The caller offers the freed slots to the waitlist.
 */
export async function releaseBooking(
  cap: Capacity,
  tenantId: string,
  booking: Booking,
  to: 'cancelled' | 'expired',
  from: ('held' | 'confirmed')[],
): Promise<Booking | undefined> {
  const freed = { ...revise(booking, { status: to }, cap.clock.now()), status: to };
  return (await cap.ledger.release(tenantId, freed, from)) ? freed : undefined;
}

/** held/confirmed → cancelled, by its owner or the tenant. */
export async function cancelBooking(cap: Capacity, tenantId: string, actor: Actor, id: string): Promise<Booking> {
  const booking = await cap.bookings.visible(tenantId, id, actor);
  if (booking.status !== 'held' && booking.status !== 'confirmed') {
    throw new AppError('invalid_state', `A ${booking.status} booking cannot be cancelled`);
  }
  const cancelled = await releaseBooking(cap, tenantId, booking, 'cancelled', ['held', 'confirmed']);
  if (!cancelled) throw new AppError('invalid_state', 'The booking is no longer live');
  return cancelled;
}

/** A hold still unconfirmed at its expiry frees its slots; the expired booking, if it did. */
export async function expireHold(cap: Capacity, tenantId: string, bookingId: string): Promise<Booking | undefined> {
  const booking = await cap.bookings.find(tenantId, bookingId);
  if (booking?.status !== 'held') return undefined;
  return releaseBooking(cap, tenantId, booking, 'expired', ['held']);
}
