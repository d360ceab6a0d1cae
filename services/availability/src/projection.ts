import type { EventEnvelope } from '@allot/contracts';
import { newId, type Service } from '@allot/kit';
import { LRUCache } from 'lru-cache';
import type { ReadModelCache } from './cache';
import type { Facts } from './domain/facts';
import { type SlotState, slotKey, updateOf } from './domain/model';
import type { ReadModelStore } from './store/read-model';

/** How the projection announces figures: an `availability.updated` event, published on the service's stream. */
export interface Announcer {
  event: Service<any, 'availability'>['event'];
  publish(envelope: EventEnvelope): Promise<void>;
}

/**
 * Applies facts to the database (and to this replica's cache) and announces every session/date
 * whose figures changed as `availability.updated`. The announcement's id is derived from the
 * session/date and its version, so announcing a change again (a redelivered event) is dropped by
 * JetStream's duplicate window; a change is announced even when its write happened in an earlier,
 * failed attempt.
 *
 * Once this process has projected a session/date, it knows which version it wrote last, and
 * the announcement of a newer one goes out while the database is written: clients hear of a
 * booking one database write sooner. A failed write fails the event, which is redelivered and
 * written and announced then (JetStream drops the repeated announcement). A version written and
 * announced is not written again: the events of one ledger batch all carry its figures, so a
 * date's thousand imported bookings cost one write. Clients order announcements by `version`
 * (replicas share the events, so two may announce out of order).
 */
export class Projection {
  /** The version this process last wrote of each session/date it projected (the busiest ones). */
  private readonly written = new LRUCache<string, number>({ max: 100_000 });
  /**
   * The first write of a session/date in flight here. Events of one ledger batch carry the same
   * figures and arrive together: without this, each of them found nothing remembered and probed
   * the database itself (an import sent 3,700 probes for 100 dates, four commands each).
   */
  private readonly probing = new Map<string, Promise<unknown>>();

  constructor(
    private readonly announcer: Announcer,
    private readonly store: ReadModelStore,
    private readonly cache: ReadModelCache,
  ) {}

  async apply(facts: Facts): Promise<void> {
    for (const session of facts.sessions) {
      await this.store.applySession(session);
      this.cache.applySession(session);
    }
    // The bookings (for analytics) are written alongside the figures: no announcement waits on them.
    await Promise.all([...facts.bookings.map((booking) => this.store.applyBooking(booking)), this.applySlots(facts.slots)]);
  }

  private async applySlots(slots: Facts['slots']): Promise<void> {
    for (const slot of slots) {
      const id = `avl_${slot.sessionId}_${slot.date}_${slot.version}`;
      const key = slotKey(slot.sessionId, slot.date);
      this.cache.applySlot(slot);
      while (!this.written.has(key) && this.probing.has(key)) await this.probing.get(key)?.catch(() => undefined);
      const written = this.written.get(key);
      if (written === undefined) {
        // Not projected here yet: the guarded write tells whether the figures are new.
        const probe = this.firstWrite(slot, id, key);
        this.probing.set(key, probe);
        await probe.finally(() => this.probing.get(key) === probe && this.probing.delete(key));
        continue;
      }
      if (written >= slot.version) continue; // superseded, or written and announced already
      await Promise.all([this.store.writeSlot(slot), this.announce(slot, id)]);
      this.remember(key, slot.version);
    }
  }

  private async firstWrite(slot: SlotState, id: string, key: string): Promise<void> {
    if ((await this.store.applySlot(slot)) === 'stale') return;
    await this.announce(slot, id);
    this.remember(key, slot.version);
  }

  /** Records a version as written and announced (only once both are: a failure is retried in full). */
  private remember(key: string, version: number): void {
    this.written.set(key, Math.max(version, this.written.get(key) ?? 0));
  }

  /** Announces the figures again under a new id (an admin's refresh: clients get them even if unchanged). */
  reannounce(slot: SlotState): Promise<void> {
    return this.announce(slot, newId('evt'));
  }

  private announce(slot: SlotState, id: string): Promise<void> {
    // occurredAt is when the figures changed, so every replica shows the same `lastUpdated`.
    const envelope: EventEnvelope = {
      ...this.announcer.event(slot.tenantId, 'availability.updated', updateOf(slot)),
      id,
      occurredAt: slot.lastUpdated,
    };
    return this.announcer.publish(envelope);
  }
}
