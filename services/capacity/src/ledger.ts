import { AppError, type Booking, type CapacityAlertType, type EventEnvelope, quantity } from '@allot/contracts';
import { assertBeforeDeadline, type OutboxEntry, type Service } from '@allot/kit';
import pLimit, { type LimitFunction } from 'p-limit';
import type { CapacityConfig } from './config';
import { pendingSlots, stateRank } from './domain/bookings';
import type { BookingStore } from './store/bookings';
import { type SlotDoc, type SlotEffects, SlotStore, slotId, snapshotOf } from './store/slots';

/** Ledger changes in flight per session/date in this process (see `onLedger`). */
const LEDGER_CONCURRENCY = 4;

type CapacityService = Service<CapacityConfig, 'capacity'>;

/**
 * Every change of slots goes through here: bookings taking, confirming and freeing slots, and
 * capacity changes. Each is one guarded update of the session/date's ledger that carries the
 * event announcing it; before the event is published the booking is materialised and a hold
 * gets its durable expiry (`prepare`), so a crash in between loses nothing.
 */
export class Ledger {
  private readonly limits = new Map<string, LimitFunction>();
  private readonly slots: SlotStore;

  constructor(
    private readonly service: CapacityService,
    private readonly bookings: BookingStore,
  ) {
    this.slots = new SlotStore(service.outboxCollection<SlotDoc>('slots', (entry, doc) => this.prepare(entry, doc as SlotDoc)));
  }

  /** The ledger of a session/date; null until someone booked it or set its capacity. */
  find(tenantId: string, sessionId: string, date: string): Promise<SlotDoc | null> {
    return this.slots.get(tenantId, sessionId, date);
  }

  byId(id: string): Promise<SlotDoc | null> {
    return this.slots.byId(id);
  }

  /** The ledger of a session/date, created at `defaultCapacity` if it has none yet. */
  ensure(tenantId: string, sessionId: string, date: string, defaultCapacity: number): Promise<SlotDoc> {
    return this.slots.ensure(tenantId, sessionId, date, defaultCapacity);
  }

  /** The figures of a session's ledgers, optionally within dates. */
  listForSession(tenantId: string, sessionId: string, from?: string, to?: string): Promise<SlotDoc[]> {
    return this.slots.listForSession(tenantId, sessionId, from, to);
  }

  /** Records that an alert condition flipped (with its `alert.raised` event when raised); null if it already had. */
  flipAlert(id: string, type: CapacityAlertType, raised: boolean, event?: EventEnvelope): Promise<SlotDoc | null> {
    return this.slots.setAlert(id, type, raised, event);
  }

  /**
   * Takes a new booking's slots: null when they are not available. The first booking of a date
   * creates its ledger at `defaultCapacity()`. With `entryId` (a waitlist promotion), also only
   * if that entry was never promoted here.
   */
  async book(tenantId: string, booking: Booking, options: { defaultCapacity: () => Promise<number>; entryId?: string }) {
    const status = booking.status === 'held' ? 'held' : 'confirmed';
    const key = slotId(booking.sessionId, booking.date);
    const event = this.bookingEvent(tenantId, `booking.${status}`, booking);
    const effects: SlotEffects = {
      rev: stateRank[status],
      holdExpiry: booking.holdExpiresAt ? { bookingId: booking.id, dueAt: booking.holdExpiresAt } : undefined,
    };
    const taken = { id: booking.id, slots: booking.slots, status } as const;
    return this.onLedger(key, async () => {
      const reserved = await this.slots.reserve(key, taken, event, effects, options.entryId);
      if (reserved || (await this.slots.byId(key))) return reserved;
      await this.slots.ensure(tenantId, booking.sessionId, booking.date, await options.defaultCapacity());
      return this.slots.reserve(key, taken, event, effects, options.entryId);
    });
  }

  /** held → confirmed on the ledger; null if the booking is not held there (any more). */
  confirm(tenantId: string, confirmed: Booking): Promise<SlotDoc | null> {
    const key = slotId(confirmed.sessionId, confirmed.date);
    const event = this.bookingEvent(tenantId, 'booking.confirmed', confirmed);
    return this.onLedger(key, () => this.slots.confirm(key, confirmed.id, event, { rev: stateRank.confirmed }));
  }

  /**
   * Frees a booking's slots if it is live in one of `from`: one guarded update, so the slots are
   * freed once however often it is tried. Null if they were already freed.
   */
  release(tenantId: string, freed: Booking & { status: 'cancelled' | 'expired' }, from: ('held' | 'confirmed')[]): Promise<SlotDoc | null> {
    const key = slotId(freed.sessionId, freed.date);
    const event = this.bookingEvent(tenantId, `booking.${freed.status}`, freed);
    return this.onLedger(key, () => this.slots.release(key, freed.id, freed.slots, from, event, { rev: stateRank[freed.status] }));
  }

  /**
   * Moves one date's capacity to `to` and announces it; null if that would go below its booked
   * slots (or, for a new default, if the date has an override). A concurrent capacity change is
   * not lost: the move is compared against the value it read, re-read and tried again.
   */
  async adjust(slot: SlotDoc, to: number, scope: 'date' | 'default', reason: string | null): Promise<SlotDoc | null> {
    let current: SlotDoc | null = slot;
    for (let attempt = 0; attempt < 5 && current; attempt++) {
      const event = this.service.event(slot.tenantId, 'capacity.adjusted', {
        sessionId: slot.sessionId,
        date: slot.date,
        oldCapacity: current.maxSlots,
        newCapacity: to,
        reason,
        slots: pendingSlots(slot.sessionId, slot.date),
      });
      const doc = await this.slots.setCapacity(slot._id, current.maxSlots, to, scope, event);
      if (doc) return doc;
      const reread: SlotDoc | null = await this.slots.byId(slot._id);
      // Refused because another capacity change moved it first: try again from its value.
      if (!reread || reread.maxSlots === current.maxSlots || (scope === 'default' && reread.override)) return null;
      current = reread;
    }
    return null;
  }

  private bookingEvent(tenantId: string, type: `booking.${Booking['status']}`, booking: Booking): EventEnvelope {
    return this.service.event(tenantId, type, { booking, slots: pendingSlots(booking.sessionId, booking.date) });
  }

  /**
   * Runs a change of one ledger (its write and the publishing of its event) with at most a few
   * others of the same session/date at a time. Correctness does not need it — the guards do
   * that — but every in-flight change's event sits on the ledger document until published, and
   * a document hundreds of events deep makes every write of it slow (FerretDB rewrites whole
   * documents).
   */
  private async onLedger<T>(key: string, change: () => Promise<T>): Promise<T> {
    const limit = this.limits.get(key) ?? pLimit(LEDGER_CONCURRENCY);
    this.limits.set(key, limit);
    try {
      return await limit(() => {
        assertBeforeDeadline(); // waited too long behind other changes: the caller already gave up
        return change();
      });
    } finally {
      if (limit.activeCount === 0 && limit.pendingCount === 0) this.limits.delete(key);
    }
  }

  /**
   * Before a ledger change is announced: the booking it made or changed is written to the
   * queryable copy, a hold gets its durable expiry, and the event carries the slot figures and
   * version of the ledger as the change left it (or, after a crash, as it is now — a consistent
   * pair either way, so read models stay right).
   */
  private async prepare(entry: OutboxEntry, doc: SlotDoc): Promise<EventEnvelope> {
    const effects = (entry.effects ?? {}) as SlotEffects;
    const data = entry.envelope.data as Record<string, unknown>;
    if (effects.rev !== undefined) await this.bookings.materialise(doc.tenantId, data.booking as Booking, effects.rev);
    if (effects.holdExpiry) {
      const { bookingId, dueAt } = effects.holdExpiry;
      await this.service.jobs.schedule('hold-expiry', bookingId, new Date(dueAt), { tenantId: doc.tenantId, bookingId });
    }
    return 'slots' in data ? { ...entry.envelope, data: { ...data, slots: snapshotOf(doc) } } : entry.envelope;
  }
}

/** The slots of a session/date that nobody could take: `capacity_exhausted` with what is left. */
export function exhausted(available: number | undefined): AppError {
  const left = Math.max(0, available ?? 0);
  return new AppError('capacity_exhausted', `Only ${quantity(left, 'slot')} left`, { availableSlots: left });
}
