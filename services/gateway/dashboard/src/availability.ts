import type { Booking, Session, StreamEvent } from '@allot/client';
import { type AllotClient, eachLimited, must } from './api';

/** What the grid shows for one session on one date. */
export interface Cell {
  sessionId: string;
  date: string;
  availableSlots: number;
  /** The date's capacity when known (the availability read model has it; a capacity check does not). */
  maxSlots: number | undefined;
}

export interface CellKey {
  sessionId: string;
  date: string;
}

/**
 * Where the grid's figures come from. Today the capacity service answers them: one
 * `GET /v1/capacity/check` per cell, and a cell is read again when the `bookings` channel says
 * a booking of that session/date changed. When the availability service is running,
 * `loadCells` becomes one `GET /v1/availability/range` call and `availability.updated` events
 * (already handled below) carry the new figures themselves.
 */
export async function loadCells(client: AllotClient, sessions: Session[], dates: string[], onCell: (cell: Cell) => void) {
  const keys = sessions.flatMap((session) => dates.map((date) => ({ session, date })));
  await eachLimited(keys, 6, async ({ session, date }) => onCell(await loadCell(client, session, date)));
}

export async function loadCell(client: AllotClient, session: Pick<Session, 'id' | 'maxCapacity'>, date: string): Promise<Cell> {
  const check = await must(() => client.GET('/v1/capacity/check', { params: { query: { sessionId: session.id, date, slots: 1 } } }));
  return { sessionId: session.id, date, availableSlots: check.availableSlots, maxSlots: undefined };
}

/** What a stream event means for the grid: new figures for a cell, a cell to read again, or nothing. */
export function cellChange(event: StreamEvent): { cell: Cell } | { stale: CellKey } | undefined {
  if (event.event === 'availability.updated') {
    const data = event.data as { sessionId: string; date: string; availableSlots: number; maxSlots: number };
    return { cell: { sessionId: data.sessionId, date: data.date, availableSlots: data.availableSlots, maxSlots: data.maxSlots } };
  }
  if (event.event.startsWith('booking.')) {
    const booking = event.data as Booking;
    return { stale: { sessionId: booking.sessionId, date: booking.date } };
  }
  if (event.event === 'queue.promoted' || event.event === 'queue.updated') {
    const { entry } = (event.event === 'queue.promoted' ? event.data : { entry: event.data }) as { entry: CellKey };
    return { stale: { sessionId: entry.sessionId, date: entry.date } };
  }
  return undefined;
}

/** The channels that keep the grid fresh for this kind of credential (users may not read `bookings`). */
export const gridChannels = (kind: 'apiKey' | 'user') => (kind === 'apiKey' ? ['availability', 'bookings'] : ['availability', 'user']);

/** Today and the 13 days after it, as UTC dates. */
export function nextDates(count = 14, from = new Date()) {
  return Array.from({ length: count }, (_, i) => new Date(from.getTime() + i * 86_400_000).toISOString().slice(0, 10));
}
