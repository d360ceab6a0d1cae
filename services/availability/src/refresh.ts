import type { Availability } from './context';
import { type SlotState, slotKey } from './domain/model';
import { allOn, pageOn } from './queries';

/** Sessions in the refresh's answer at most (as `GET /v1/availability`'s default page). */
const REFRESH_PAGE = 50;

import { rebuildFromCapacity } from './rebuild';

/**
 * An admin's refresh (`POST /v1/availability/refresh`): the date's entries are rebuilt from the capacity service and
 * every one is announced again, changed or not, so clients that missed something are set right.
 * The answer is the first page of the date's figures, bounded like every list.
 */
export async function refreshAvailability(av: Availability, tenantId: string, date: string, sessionId?: string) {
  await rebuildFromCapacity(av, { tenantId, sessionId, date }, { bookings: false });
  const items = await allOn(av, tenantId, date, sessionId);
  const slots = await av.cache.slotsOf(items.map((a) => ({ sessionId: a.sessionId, date })));
  for (const item of items) {
    const held = slots.get(slotKey(item.sessionId, date));
    // A date nobody booked is announced at version 0: the session's capacity, all of it free.
    const slot: SlotState = held ?? {
      tenantId,
      sessionId: item.sessionId,
      date,
      maxSlots: item.maxSlots,
      bookedSlots: 0,
      availableSlots: item.maxSlots,
      version: 0,
      lastUpdated: item.lastUpdated,
    };
    await av.projection.reannounce(slot);
  }
  // Every entry was announced; the answer is their first page (`GET /v1/availability` has the rest).
  if (sessionId) return { items, nextCursor: null };
  return pageOn(av, tenantId, date, { limit: REFRESH_PAGE });
}
