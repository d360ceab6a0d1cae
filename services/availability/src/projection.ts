import type { EventEnvelope } from '@allot/contracts';
import { newId, type Service } from '@allot/kit';
import type { ReadModelCache } from './cache';
import type { Facts } from './domain/facts';
import { type SlotState, updateOf } from './domain/model';
import type { ReadModelStore } from './store/read-model';

export type AvailabilityService = Service<any, 'availability'>;

/**
 * Applies facts to the database (and to this replica's cache) and announces every session/date
 * whose figures changed as `availability.updated`. The announcement's id is derived from the
 * session/date and its version, so announcing a change again (a redelivered event) is dropped by
 * JetStream's duplicate window; a change is announced even when its write happened in an earlier,
 * failed attempt.
 */
export class Projection {
  constructor(
    private readonly service: AvailabilityService,
    private readonly store: ReadModelStore,
    private readonly cache: ReadModelCache,
  ) {}

  async apply(facts: Facts): Promise<void> {
    for (const session of facts.sessions) {
      await this.store.applySession(session);
      this.cache.applySession(session);
    }
    for (const booking of facts.bookings) await this.store.applyBooking(booking);
    for (const slot of facts.slots) {
      const write = await this.store.applySlot(slot);
      this.cache.applySlot(slot);
      if (write !== 'stale') await this.announce(slot, `avl_${slot.sessionId}_${slot.date}_${slot.version}`);
    }
  }

  /** Announces the figures again under a new id (an admin's refresh: clients get them even if unchanged). */
  reannounce(slot: SlotState): Promise<void> {
    return this.announce(slot, newId('evt'));
  }

  private announce(slot: SlotState, id: string): Promise<void> {
    // occurredAt is when the figures changed, so every replica shows the same `lastUpdated`.
    const envelope: EventEnvelope = {
      ...this.service.event(slot.tenantId, 'availability.updated', updateOf(slot)),
      id,
      occurredAt: slot.lastUpdated,
    };
    return this.service.events.publish(envelope);
  }
}
