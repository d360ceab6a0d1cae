import { capacityRpc, type ReadModelQuery } from '@allot/contracts';
import type { z } from 'zod';
import { bookingFact, slotFact } from './domain/facts';
import type { SlotState } from './domain/model';
import type { AvailabilityService, Projection } from './projection';

type Scope = Omit<z.input<typeof ReadModelQuery>, 'after' | 'limit'>;
const asPlatform = { tenantId: null, actor: { kind: 'root' } } as const;

/** Every item of one of capacity's paged read-model operations. */
async function* pages<T>(fetchPage: (after?: string) => Promise<{ items: T[]; nextCursor: string | null }>) {
  let after: string | undefined;
  do {
    const page = await fetchPage(after);
    yield* page.items;
    after = page.nextCursor ?? undefined;
  } while (after);
}

/**
 * Brings the read model up to the capacity service's stored state within `scope` (only what
 * is newer is applied, and announced): after events were lost to the stream's retention, or on
 * an admin's refresh. Returns the slot figures capacity holds in that scope.
 */
export async function rebuildFromCapacity(
  service: AvailabilityService,
  projection: Projection,
  scope: Scope,
  options: { bookings: boolean },
): Promise<SlotState[]> {
  const now = service.clock.now().toISOString();
  const { date: _date, ...sessionScope } = scope;
  for await (const { tenantId, session, version } of pages((after) =>
    service.client.call('capacity', 'readModel.sessions', capacityRpc['readModel.sessions'], { ...sessionScope, after }, asPlatform),
  )) {
    const details = { name: session.name, isActive: session.isActive };
    await projection.apply({
      sessions: [{ tenantId, sessionId: session.id, version, at: session.updatedAt, details, maxCapacity: session.maxCapacity }],
      slots: [],
      bookings: [],
    });
  }
  const slots: SlotState[] = [];
  for await (const item of pages((after) =>
    service.client.call('capacity', 'readModel.slots', capacityRpc['readModel.slots'], { ...scope, after }, asPlatform),
  )) {
    const slot = slotFact(item.tenantId, item.slots, now);
    slots.push(slot);
    await projection.apply({ sessions: [], slots: [slot], bookings: [] });
  }
  if (options.bookings) {
    for await (const { tenantId, booking } of pages((after) =>
      service.client.call('capacity', 'readModel.bookings', capacityRpc['readModel.bookings'], { ...scope, after }, asPlatform),
    )) {
      await projection.apply({ sessions: [], slots: [], bookings: [bookingFact(tenantId, booking)] });
    }
  }
  return slots;
}
