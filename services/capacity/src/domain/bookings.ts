/** Bookings as values (services/capacity/README.md, The rules): how one is made, how it changes, and who may see it. Pure. */
import type { Actor, Booking, BookingType, SlotSnapshot } from '@allot/contracts';

export interface NewBooking {
  id: string;
  sessionId: string;
  date: string;
  adults: number;
  children: number;
  bookingType: BookingType;
  userId: string | null;
  status: 'held' | 'confirmed';
  source: Booking['source'];
  queueEntryId: string | null;
  holdExpiresAt: string | null;
}

/** A booking as it is first written, stamped with `now`. */
export function newBooking(fields: NewBooking, now: Date): Booking {
  const at = now.toISOString();
  return { ...fields, slots: fields.adults + fields.children, createdAt: at, updatedAt: at };
}

/** A booking's next state: what the event and the queryable copy will show. */
export function revise(booking: Booking, changes: Partial<Booking>, at: Date): Booking {
  return { ...booking, ...changes, updatedAt: at.toISOString() };
}

/** A user sees only what it owns; an API key sees all of its tenant's. */
export const canSee = (actor: Actor, ownerUserId: string | null) => actor.kind !== 'user' || actor.userId === ownerUserId;

/** The figures of a date whose ledger is not there (never the case once a booking exists). */
export const pendingSlots = (sessionId: string, date: string): SlotSnapshot => ({
  sessionId,
  date,
  maxSlots: 0,
  bookedSlots: 0,
  availableSlots: 0,
  version: 0,
});
