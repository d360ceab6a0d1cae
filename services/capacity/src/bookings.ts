import type { CreateBooking } from '@allot/contracts';
import { type Actor, AppError, type Booking } from '@allot/contracts';
import { newId } from '@allot/kit';
import type { z } from 'zod';
import { type Capacity, pendingSlots, revise, stateRank } from './capacity';
import { isPastDate } from './domain/dates';
import { checkAlerts } from './insights';
import { toBooking } from './store/bookings';
import { slotId } from './store/slots';
import { processQueue } from './waitlist';

/** Books slots on the ledger: confirmed at once, or held until confirmed or expired. */
export async function createBooking(
  cap: Capacity,
  tenantId: string,
  actor: Actor,
  input: z.output<typeof CreateBooking>,
): Promise<Booking> {
  const session = await cap.recentSession(tenantId, input.sessionId);
  if (!session.isActive) throw new AppError('session_inactive', 'The session is not taking bookings');
  const now = cap.now();
  if (isPastDate(input.date, now)) {
    throw new AppError('validation_failed', 'The date is in the past', { errors: [{ path: 'date', message: 'must be today or later' }] });
  }
  const key = slotId(session._id, input.date);
  const status: 'held' | 'confirmed' = input.hold ? 'held' : 'confirmed';
  const holdExpiresAt = input.hold ? new Date(now.getTime() + cap.config.HOLD_TTL_SECONDS * 1000).toISOString() : null;
  const booking: Booking = {
    id: newId('bk'),
    sessionId: session._id,
    date: input.date,
    adults: input.adults,
    children: input.children,
    slots: input.adults + input.children,
    bookingType: input.bookingType,
    userId: actor.kind === 'user' ? actor.userId : (input.userId ?? null),
    status,
    source: 'direct',
    queueEntryId: null,
    holdExpiresAt,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  const event = cap.event(tenantId, `booking.${status}`, { booking, slots: pendingSlots(session._id, input.date) });
  const effects = { rev: stateRank[status], holdExpiry: holdExpiresAt ? { bookingId: booking.id, dueAt: holdExpiresAt } : undefined };
  const taken = { id: booking.id, slots: booking.slots, status };
  const doc = await cap.onLedger(key, async () => {
    let reserved = await cap.slots.reserve(key, taken, event, effects);
    // The first booking of a date creates its ledger.
    if (!reserved && !(await cap.slots.get(tenantId, session._id, input.date))) {
      const fresh = await cap.session(tenantId, session._id); // the default capacity, read now
      await cap.slots.ensure(tenantId, session._id, input.date, fresh.maxCapacity);
      reserved = await cap.slots.reserve(key, taken, event, effects);
    }
    if (reserved) await cap.flush('slots', reserved, event);
    return reserved;
  });
  if (!doc) {
    const current = await cap.slots.get(tenantId, session._id, input.date);
    throw new AppError('capacity_exhausted', `Only ${Math.max(0, current?.available ?? 0)} slots are left`, {
      availableSlots: Math.max(0, current?.available ?? 0),
    });
  }
  await checkAlerts(cap, tenantId, session, input.date, doc);
  return booking;
}

/** held → confirmed, before the hold expires. */
export async function confirmBooking(cap: Capacity, tenantId: string, actor: Actor, id: string): Promise<Booking> {
  const booking = await cap.visibleBooking(tenantId, id, actor);
  const now = cap.now();
  if (booking.status !== 'held') throw new AppError('invalid_state', `A ${booking.status} booking cannot be confirmed`);
  if (booking.holdExpiresAt && booking.holdExpiresAt <= now.toISOString()) throw new AppError('invalid_state', 'The hold has expired');
  const next = revise(toBooking(booking), { status: 'confirmed' }, now);
  const event = cap.event(tenantId, 'booking.confirmed', { booking: next, slots: pendingSlots(next.sessionId, next.date) });
  const key = slotId(next.sessionId, next.date);
  const doc = await cap.onLedger(key, async () => {
    const confirmed = await cap.slots.confirm(key, id, event, { rev: stateRank.confirmed });
    if (confirmed) await cap.flush('slots', confirmed, event);
    return confirmed;
  });
  if (!doc) throw new AppError('invalid_state', 'The booking is no longer held');
  return next;
}

/**
 * Frees a booking's slots (cancel by a client, or expiry of a hold): one guarded ledger update,
 * so the slots are freed once however often it is tried. Freed slots go to the waitlist.
 */
export async function releaseBooking(
  cap: Capacity,
  tenantId: string,
  booking: Booking,
  to: 'cancelled' | 'expired',
  from: ('held' | 'confirmed')[],
): Promise<Booking | undefined> {
  const next = revise(booking, { status: to }, cap.now());
  const event = cap.event(tenantId, `booking.${to}`, { booking: next, slots: pendingSlots(next.sessionId, next.date) });
  const key = slotId(next.sessionId, next.date);
  const doc = await cap.onLedger(key, async () => {
    const released = await cap.slots.release(key, next.id, next.slots, from, event, { rev: stateRank[to] });
    if (released) await cap.flush('slots', released, event);
    return released;
  });
  if (!doc) return undefined;
  await processQueue(cap, tenantId, next.sessionId, next.date);
  return next;
}

export async function cancelBooking(cap: Capacity, tenantId: string, actor: Actor, id: string): Promise<Booking> {
  const doc = await cap.visibleBooking(tenantId, id, actor);
  if (doc.status !== 'held' && doc.status !== 'confirmed')
    throw new AppError('invalid_state', `A ${doc.status} booking cannot be cancelled`);
  const cancelled = await releaseBooking(cap, tenantId, toBooking(doc), 'cancelled', ['held', 'confirmed']);
  if (!cancelled) throw new AppError('invalid_state', 'The booking is no longer live');
  return cancelled;
}

/** The hold-expiry job: a hold still unconfirmed at its expiry frees its slots. */
export async function expireHold(cap: Capacity, tenantId: string, bookingId: string): Promise<void> {
  const doc = await cap.bookings.get(tenantId, bookingId);
  if (doc?.status !== 'held') return;
  await releaseBooking(cap, tenantId, toBooking(doc), 'expired', ['held']);
}
