import { type Actor, AppError, type Booking, type CreateBooking } from '@allot/contracts';
import { newId } from '@allot/kit';
import type { z } from 'zod';
import type { Capacity } from './context';
import { newBooking, pendingSlots, revise } from './domain/bookings';
import { isPastDate } from './domain/dates';
import { checkConfirmedSlots, checkHeldSlots, checkPartySize } from './domain/limits';
import { exhausted } from './ledger';
import type { SessionDoc } from './store/sessions';
import { type SlotDoc, snapshotOf } from './store/slots';

/** Where a booking's slots are counted, and the capacity a new ledger starts with (read fresh). */
export const placeOf = (cap: Capacity, tenantId: string, sessionId: string, date: string) => ({
  tenantId,
  sessionId,
  date,
  defaultCapacity: async () => (await cap.sessions.get(tenantId, sessionId)).maxCapacity,
});

/**
 * Books slots on the ledger: confirmed at once, or held until confirmed or expired. A retry
 * under the same idempotency key returns the booking the first attempt made.
 */
export async function createBooking(
  cap: Capacity,
  tenantId: string,
  actor: Actor,
  input: z.output<typeof CreateBooking>,
  requestKey?: string,
  /** The id a new booking gets (an import derives it from the other system's reference). */
  freshId: () => string = () => newId('bk'),
): Promise<{ booking: Booking; session: SessionDoc; ledger: SlotDoc }> {
  const session = await cap.sessions.recent(tenantId, input.sessionId);
  if (!session.isActive) throw new AppError('session_inactive', 'The session is not taking bookings');
  const now = cap.clock.now();
  if (isPastDate(input.date, now)) {
    throw new AppError('validation_failed', 'The date is in the past', { errors: [{ path: 'date', message: 'must be today or later' }] });
  }
  const userId = actor.kind === 'user' ? actor.userId : (input.userId ?? null);
  await checkHoarding(cap, tenantId, actor, {
    slots: input.adults + input.children,
    bookingType: input.bookingType,
    holdBy: input.hold ? userId : null,
  });
  const id = await cap.requestIds.idFor(requestKey, freshId);
  // A retry of a booking already made is answered with it, not refused by the limit it used.
  if (actor.kind === 'user' && !input.hold && !(await cap.bookings.find(tenantId, id)))
    await checkConfirmedLimit(cap, tenantId, actor.userId, session._id, input.date, input.adults + input.children);
  const booking = newBooking(
    {
      id,
      sessionId: session._id,
      date: input.date,
      adults: input.adults,
      children: input.children,
      bookingType: input.bookingType,
      userId,
      status: input.hold ? 'held' : 'confirmed',
      source: 'direct',
      queueEntryId: null,
      holdExpiresAt: input.hold ? new Date(now.getTime() + cap.config.HOLD_TTL_SECONDS * 1000).toISOString() : null,
    },
    now,
  );
  const result = await cap.ledger.take(placeOf(cap, tenantId, session._id, input.date), booking, requestKey !== undefined);
  if (!result.ok) throw exhausted(result.available);
  const made = result.booking ?? booking;
  if (!result.duplicate)
    cap.log.info({ bookingId: made.id, sessionId: made.sessionId, date: made.date, from: null, to: made.status }, 'booking created');
  return { booking: made, session, ledger: result.doc };
}

/**
 * The limits against hoarding a new booking or waitlist entry must pass: only API keys choose a
 * booking type (it buys queue priority); a party no larger than the tenant allows; a user holding
 * no more slots than allowed. (Checked before the change, so two racing holds of one user may
 * together pass the limit by one.)
 */
export async function checkHoarding(
  cap: Capacity,
  tenantId: string,
  actor: Actor,
  request: { slots: number; bookingType: Booking['bookingType']; holdBy: string | null },
): Promise<void> {
  if (actor.kind === 'user' && request.bookingType !== 'regular') {
    throw new AppError('forbidden', 'Only an API key may choose a booking type');
  }
  const limits = await cap.limits.get(tenantId);
  checkPartySize(limits, request.slots);
  if (request.holdBy) checkHeldSlots(limits, await cap.bookings.heldSlotsOf(tenantId, request.holdBy), request.slots);
}

/**
 * The confirmed slots a user token may have on one session and date (API keys are the tenant's
 * own backend and are not limited). Checked before the change, like the other limits.
 */
async function checkConfirmedLimit(cap: Capacity, tenantId: string, userId: string, sessionId: string, date: string, slots: number) {
  checkConfirmedSlots(await cap.limits.get(tenantId), await cap.bookings.confirmedSlotsOf(tenantId, userId, sessionId, date), slots);
}

/** held → confirmed, before the hold expires; a confirmed booking no longer has a hold expiry. */
export async function confirmBooking(cap: Capacity, tenantId: string, actor: Actor, id: string): Promise<Booking> {
  const booking = await cap.bookings.visible(tenantId, id, actor);
  const now = cap.clock.now();
  if (booking.status !== 'held') throw new AppError('invalid_state', `A ${booking.status} booking cannot be confirmed`);
  if (booking.holdExpiresAt && booking.holdExpiresAt <= now.toISOString()) throw new AppError('invalid_state', 'The hold has expired');
  if (actor.kind === 'user') await checkConfirmedLimit(cap, tenantId, actor.userId, booking.sessionId, booking.date, booking.slots);
  const confirmed = revise(booking, { status: 'confirmed', holdExpiresAt: null }, now);
  const ledger = await cap.ledger.find(tenantId, booking.sessionId, booking.date);
  // Confirming changes no figures: the event carries the ledger's current ones.
  const slots = ledger ? snapshotOf(ledger) : pendingSlots(booking.sessionId, booking.date);
  const event = cap.event(tenantId, 'booking.confirmed', { booking: confirmed, slots });
  await cap.bookings.noteConfirmed(tenantId, confirmed);
  const moved = await cap.bookings.transition(
    tenantId,
    id,
    ['held'],
    { status: 'confirmed', holdExpiresAt: null, updatedAt: confirmed.updatedAt },
    {
      guard: { holdExpiresAt: { $gt: now.toISOString() } },
      events: [event],
    },
  );
  if (!moved) throw new AppError('invalid_state', 'The booking is no longer held');
  cap.log.info({ bookingId: id, from: 'held', to: 'confirmed' }, 'booking confirmed');
  return confirmed;
}

/**
 * Frees a booking's slots (cancel by a client, expiry of a hold or an offer): the booking moves
 * first (a guarded transition, so it happens once), then the ledger takes its slots back
 * (idempotent; the sweep finishes it after a crash). Undefined if the booking had already left
 * `from`. The caller offers the freed slots to the waitlist.
 */
export async function releaseBooking(
  cap: Capacity,
  tenantId: string,
  booking: Booking,
  to: 'cancelled' | 'expired',
  from: ('held' | 'confirmed')[],
): Promise<Booking | undefined> {
  const freed = { ...revise(booking, { status: to }, cap.clock.now()), status: to };
  const guard = to === 'expired' ? { holdExpiresAt: { $lte: freed.updatedAt } } : undefined;
  const moved = await cap.bookings.transition(
    tenantId,
    booking.id,
    from,
    { status: to, updatedAt: freed.updatedAt, releasing: true },
    { guard },
  );
  if (!moved) return undefined;
  cap.log.info({ bookingId: booking.id, from: booking.status, to }, `booking ${to}`);
  // The booking's move is stored: if the ledger cannot take the slots back now, the sweep does.
  await returnSlots(cap, tenantId, freed).catch((error) =>
    cap.log.warn({ err: error, bookingId: booking.id }, 'returning slots failed; the sweep will return them'),
  );
  return freed;
}

/** The ledger takes a released booking's slots back (once; also the sweep's repair). */
export async function returnSlots(cap: Capacity, tenantId: string, freed: Booking & { status: 'cancelled' | 'expired' }) {
  await cap.ledger.release(placeOf(cap, tenantId, freed.sessionId, freed.date), freed);
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
