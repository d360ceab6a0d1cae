import type { Availability } from './context';
import { type SlotState, slotKey } from './domain/model';
import { availabilityOn } from './queries';
import { rebuildFromCapacity } from './rebuild';

/**
 * An admin's refresh (SPEC §5): the date's entries are rebuilt from the capacity service and
 * every one is announced again, changed or not, so clients that missed something are set right.
 */
export async function refreshAvailability(av: Availability, tenantId: string, date: string, sessionId?: string) {
  await rebuildFromCapacity(av.service, av.projection, { tenantId, sessionId, date }, { bookings: false });
  const answer = await availabilityOn(av, tenantId, date, sessionId);
  const items = 'items' in answer ? answer.items : [answer];
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
  return { items };
}
