/**
 * What the read model learns from each capacity event: facts about a session, a session/date's
 * slots, or a booking (for the peak-hour histogram). Every fact carries the version it was taken
 * at, so applying the facts of any event twice, or out of order, ends in the same model. Pure.
 */
import type { Booking, CatalogEvent, SlotSnapshot } from '@allot/contracts';
import type { SessionFact, SlotState } from './model';

/** A booking as the histogram needs it; `rank` orders its states (held → confirmed → cancelled/expired). */
export interface BookingFact {
  tenantId: string;
  bookingId: string;
  sessionId: string;
  createdAt: string;
  /** The UTC hour of day it was made in. */
  hour: number;
  confirmed: boolean;
  rank: number;
}

export interface Facts {
  sessions: SessionFact[];
  slots: SlotState[];
  bookings: BookingFact[];
}

const rankOf: Record<Booking['status'], number> = { held: 1, confirmed: 2, cancelled: 3, expired: 3 };

export function bookingFact(tenantId: string, booking: Booking): BookingFact {
  return {
    tenantId,
    bookingId: booking.id,
    sessionId: booking.sessionId,
    createdAt: booking.createdAt,
    hour: new Date(booking.createdAt).getUTCHours(),
    confirmed: booking.status === 'confirmed',
    rank: rankOf[booking.status],
  };
}

export function slotFact(tenantId: string, slots: SlotSnapshot, at: string): SlotState {
  return { tenantId, ...slots, lastUpdated: at };
}

/** The facts of one capacity event (none for events that change no availability). */
export function factsOf(event: CatalogEvent<'capacity'>): Facts {
  const facts: Facts = { sessions: [], slots: [], bookings: [] };
  const { tenantId, occurredAt: at } = event;
  switch (event.type) {
    case 'session.created':
    case 'session.updated': {
      const { session, sessionVersion } = event.data;
      facts.sessions.push({
        tenantId,
        sessionId: session.id,
        // Events from before sessions were versioned count as the first version.
        version: sessionVersion ?? 1,
        at: session.updatedAt,
        details: { name: session.name, isActive: session.isActive },
        maxCapacity: session.maxCapacity,
      });
      break;
    }
    case 'capacity.adjusted': {
      const { sessionId, newCapacity, slots, sessionVersion } = event.data;
      if (slots) facts.slots.push(slotFact(tenantId, slots, at));
      else if (sessionVersion) facts.sessions.push({ tenantId, sessionId, version: sessionVersion, at, maxCapacity: newCapacity });
      break;
    }
    case 'booking.held':
    case 'booking.confirmed':
    case 'booking.cancelled':
    case 'booking.expired':
      facts.slots.push(slotFact(tenantId, event.data.slots, at));
      facts.bookings.push(bookingFact(tenantId, event.data.booking));
      break;
  }
  return facts;
}
