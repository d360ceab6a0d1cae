import { capacityRpc, type ReadModelQuery } from '@allot/contracts';
import type { Clock, RpcClient } from '@allot/kit';
import type { z } from 'zod';
import { bookingFact, slotFact } from './domain/facts';
import type { SlotState } from './domain/model';
import type { Projection } from './projection';

type Query = z.input<typeof ReadModelQuery>;
type Scope = Omit<Query, 'after' | 'limit'>;
const asPlatform = { tenantId: null, actor: { kind: 'root' } } as const;

/** The capacity service's stored state of every tenant, paged: its read-model operations, called as the platform. */
export function capacityReadModel(client: RpcClient) {
  return {
    sessions: (query: Query) => client.call('capacity', 'readModel.sessions', capacityRpc['readModel.sessions'], query, asPlatform),
    slots: (query: Query) => client.call('capacity', 'readModel.slots', capacityRpc['readModel.slots'], query, asPlatform),
    bookings: (query: Query) => client.call('capacity', 'readModel.bookings', capacityRpc['readModel.bookings'], query, asPlatform),
  };
}

export type CapacityReadModel = ReturnType<typeof capacityReadModel>;

/** What a rebuild uses: capacity's state to read, the projection to apply it with, the time. */
export interface Rebuilding {
  capacity: CapacityReadModel;
  projection: Projection;
  clock: Clock;
}

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
  { capacity, projection, clock }: Rebuilding,
  scope: Scope,
  options: { bookings: boolean },
): Promise<SlotState[]> {
  const now = clock.now().toISOString();
  const { date: _date, ...sessionScope } = scope;
  for await (const { tenantId, session, version } of pages((after) => capacity.sessions({ ...sessionScope, after }))) {
    const details = { name: session.name, isActive: session.isActive };
    await projection.apply({
      sessions: [{ tenantId, sessionId: session.id, version, at: session.updatedAt, details, maxCapacity: session.maxCapacity }],
      slots: [],
      bookings: [],
    });
  }
  const slots: SlotState[] = [];
  for await (const item of pages((after) => capacity.slots({ ...scope, after }))) {
    const slot = slotFact(item.tenantId, item.slots, now);
    slots.push(slot);
    await projection.apply({ sessions: [], slots: [slot], bookings: [] });
  }
  if (options.bookings) {
    for await (const { tenantId, booking } of pages((after) => capacity.bookings({ ...scope, after }))) {
      await projection.apply({ sessions: [], slots: [], bookings: [bookingFact(tenantId, booking)] });
    }
  }
  return slots;
}
