import type { Booking, Session, StreamEvent } from '@allot/client';
import { type AllotClient, ApiError, eachLimited, must } from './api';

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

/** Sessions per page of `GET /v1/availability/range`: each page covers every date of the grid. */
const RANGE_PAGE = 50;

/**
 * Where the grid's figures come from: the availability read model, one
 * `GET /v1/availability/range` page per 50 sessions (following `nextCursor`) for every date at
 * once; afterwards `availability.updated` events carry each changed cell's new figures. Without
 * the availability service (the range answers 503) every cell is asked of the capacity service
 * instead, one `GET /v1/capacity/check` each, and read again when a booking of it changes.
 * Returns where the figures came from.
 */
export async function loadCells(
  client: AllotClient,
  sessions: Session[],
  dates: string[],
  onCell: (cell: Cell) => void,
): Promise<'availability' | 'capacity'> {
  try {
    await loadRange(client, dates, onCell);
    return 'availability';
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 503)) throw error;
  }
  const keys = sessions.flatMap((session) => dates.map((date) => ({ session, date })));
  await eachLimited(keys, 6, async ({ session, date }) => onCell(await loadCell(client, session, date)));
  return 'capacity';
}

async function loadRange(client: AllotClient, dates: string[], onCell: (cell: Cell) => void) {
  const from = dates[0]!;
  const to = dates[dates.length - 1]!;
  let cursor: string | undefined;
  do {
    const query = { from, to, limit: RANGE_PAGE, ...(cursor ? { cursor } : {}) };
    const page = await must(() => client.GET('/v1/availability/range', { params: { query } }));
    for (const entry of Object.values(page.dates))
      for (const a of 'items' in entry ? entry.items : [entry])
        onCell({ sessionId: a.sessionId, date: a.date, availableSlots: a.availableSlots, maxSlots: a.maxSlots });
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

export async function loadCell(client: AllotClient, session: Pick<Session, 'id' | 'maxCapacity'>, date: string): Promise<Cell> {
  const check = await must(() => client.GET('/v1/capacity/check', { params: { query: { sessionId: session.id, date, slots: 1 } } }));
  return { sessionId: session.id, date, availableSlots: check.availableSlots, maxSlots: undefined };
}

/** What a stream event means for the grid: new figures for a cell, a cell to read again, or nothing. */
export function cellChange(event: StreamEvent): { cell: Cell; version?: number } | { stale: CellKey } | undefined {
  if (event.event === 'availability.updated') {
    const data = event.data as { sessionId: string; date: string; availableSlots: number; maxSlots: number; version?: number };
    return {
      cell: { sessionId: data.sessionId, date: data.date, availableSlots: data.availableSlots, maxSlots: data.maxSlots },
      version: data.version,
    };
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
