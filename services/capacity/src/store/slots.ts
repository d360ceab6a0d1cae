import type { CapacityAlertType, EventEnvelope, SlotSnapshot } from '@allot/contracts';
import type { OutboxCollection, OutboxEntry } from '@allot/kit';
import type { Filter, IndexDescription, UpdateFilter } from 'mongodb';

/**
 * A booking's hold on slots, as the ledger knows it: its slot count, negative while held and
 * positive once confirmed. One number per booking keeps the ledger compact (FerretDB re-reads and
 * rewrites the whole document on every change, so its size is its cost).
 */
export type LiveBooking = number;
export type LiveStatus = 'held' | 'confirmed';

/**
 * The slot ledger of one session/date: the only place slots are counted. Every booking, hold,
 * promotion, cancel, expiry and capacity change is one guarded atomic update of this document,
 * so `booked` is always the sum of `live` and `available = maxSlots − booked` never goes below
 * what the guards allow. `version` increases with every change; the change's event rides on
 * the same update (`outbox`), and its `effects` say what to do before announcing it
 * (materialise the booking, schedule expiries).
 */
export interface SlotDoc {
  _id: string;
  tenantId: string;
  sessionId: string;
  date: string;
  maxSlots: number;
  /** Whether `maxSlots` was set for this date (else it follows the session's default). */
  override: boolean;
  booked: number;
  available: number;
  version: number;
  live: Record<string, LiveBooking>;
  /** Waitlist entries turned into bookings here: entry id → booking id (each at most once). */
  promoted: Record<string, string>;
  /** Alert conditions as last seen, so an alert is raised when a threshold is crossed. */
  alerts: Partial<Record<CapacityAlertType, boolean>>;
  outbox: OutboxEntry[];
}

/** What must happen, idempotently, before a ledger change is announced. */
export interface SlotEffects {
  /** Materialise the event's booking at this revision (an older state never overwrites a newer one). */
  rev?: number;
  holdExpiry?: { bookingId: string; dueAt: string };
}

export const slotIndexes: IndexDescription[] = [{ key: { tenantId: 1, sessionId: 1, date: 1 } }];

export const slotId = (sessionId: string, date: string) => `${sessionId}:${date}`;

export function snapshotOf(doc: SlotDoc): SlotSnapshot {
  return {
    sessionId: doc.sessionId,
    date: doc.date,
    maxSlots: doc.maxSlots,
    bookedSlots: doc.booked,
    availableSlots: doc.available,
    version: doc.version,
  };
}

const live = (bookingId: string) => `live.${bookingId}`;

/** A filter on a live entry's value that matches the given states (held < 0 < confirmed). */
function inState(states: LiveStatus[]) {
  if (states.includes('held') && states.includes('confirmed')) return { $exists: true };
  return states.includes('held') ? { $lt: 0 } : { $gt: 0 };
}

/** The guarded updates of slot ledgers; each writes the change and its event in one update. */
export class SlotStore {
  constructor(private readonly docs: OutboxCollection<SlotDoc>) {}

  get(tenantId: string, sessionId: string, date: string): Promise<SlotDoc | null> {
    return this.docs.findOne({ _id: slotId(sessionId, date), tenantId });
  }

  byId(id: string): Promise<SlotDoc | null> {
    return this.docs.findOne({ _id: id });
  }

  /** The figures of a session's ledgers (without their live bookings), optionally within dates. */
  listForSession(tenantId: string, sessionId: string, from?: string, to?: string): Promise<SlotDoc[]> {
    const filter: Filter<SlotDoc> = { tenantId, sessionId };
    if (from || to) filter.date = { ...(from ? { $gte: from } : {}), ...(to ? { $lte: to } : {}) };
    return this.docs.find(filter, { projection: { outbox: 0, live: 0, promoted: 0 } }).toArray();
  }

  /** The ledger of a session/date, created at the session's default capacity if it has none yet. */
  async ensure(tenantId: string, sessionId: string, date: string, defaultCapacity: number): Promise<SlotDoc> {
    const _id = slotId(sessionId, date);
    const existing = await this.docs.findOne({ _id });
    if (existing) return existing;
    const fresh: Omit<SlotDoc, 'outbox'> = {
      _id,
      tenantId,
      sessionId,
      date,
      maxSlots: defaultCapacity,
      override: false,
      booked: 0,
      available: defaultCapacity,
      version: 0,
      live: {},
      promoted: {},
      alerts: {},
    };
    return (await this.docs.insertOrGet(fresh)).doc;
  }

  /**
   * Takes `slots` for a new booking if they are available; with `entryId`, only if that waitlist
   * entry was never promoted here. Null when refused.
   */
  reserve(
    id: string,
    booking: { id: string; slots: number; status: LiveStatus },
    event: EventEnvelope,
    effects: SlotEffects,
    entryId?: string,
  ): Promise<SlotDoc | null> {
    const filter: Record<string, unknown> = { _id: id, available: { $gte: booking.slots }, [live(booking.id)]: { $exists: false } };
    const set: Record<string, unknown> = { [live(booking.id)]: booking.status === 'held' ? -booking.slots : booking.slots };
    if (entryId) {
      filter[`promoted.${entryId}`] = { $exists: false };
      set[`promoted.${entryId}`] = booking.id;
    }
    return this.guarded(filter, { $set: set, $inc: { booked: booking.slots, available: -booking.slots, version: 1 } }, event, effects);
  }

  /** Confirms a held booking; null if it is not held here (any more). */
  confirm(id: string, bookingId: string, event: EventEnvelope, effects: SlotEffects): Promise<SlotDoc | null> {
    return this.guarded(
      { _id: id, [live(bookingId)]: { $lt: 0 } },
      { $mul: { [live(bookingId)]: -1 }, $inc: { version: 1 } },
      event,
      effects,
    );
  }

  /** Frees a booking's slots if it is live in one of `from`; null otherwise (already freed). */
  release(
    id: string,
    bookingId: string,
    slots: number,
    from: LiveStatus[],
    event: EventEnvelope,
    effects: SlotEffects,
  ): Promise<SlotDoc | null> {
    return this.guarded(
      { _id: id, [live(bookingId)]: inState(from) },
      { $unset: { [live(bookingId)]: '' }, $inc: { booked: -slots, available: slots, version: 1 } },
      event,
      effects,
    );
  }

  /**
   * Moves this date's capacity from `from` to `to` (`available` moves by the same amount, so
   * concurrent bookings need no retry). Lowering is refused (null) if it would put capacity below
   * the booked slots; `from` is compared too, so a concurrent capacity change is not lost.
   */
  setCapacity(id: string, from: number, to: number, scope: 'date' | 'default', event: EventEnvelope): Promise<SlotDoc | null> {
    const filter: Record<string, unknown> = { _id: id, maxSlots: from };
    if (to < from) filter.available = { $gte: from - to };
    // A new default reaches only the dates without an override of their own.
    if (scope === 'default') filter.override = false;
    const set: Record<string, unknown> = { maxSlots: to };
    if (scope === 'date') set.override = true;
    return this.guarded(filter, { $set: set, $inc: { available: to - from, version: 1 } }, event);
  }

  /** Records an alert condition flip; with an event only when it is raised. Null if it was already so. */
  setAlert(id: string, type: CapacityAlertType, raised: boolean, event?: EventEnvelope): Promise<SlotDoc | null> {
    const filter = { _id: id, [`alerts.${type}`]: raised ? { $ne: true } : true };
    return this.docs.update(filter as Filter<SlotDoc>, { $set: { [`alerts.${type}`]: raised } }, event ? [event] : []);
  }

  private guarded(filter: Record<string, unknown>, update: Record<string, unknown>, event: EventEnvelope, effects?: SlotEffects) {
    return this.docs.update(filter as Filter<SlotDoc>, update as UpdateFilter<SlotDoc>, [event], effects);
  }
}
