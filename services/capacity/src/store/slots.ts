import type { Booking, CapacityAlertType, EventEnvelope, SlotSnapshot } from '@allot/contracts';
import { type OutboxEntry, OutboxLedgerStore } from '@allot/kit';
import type { Filter, IndexDescription } from 'mongodb';
import { type AcrossTenants, acrossTenants } from './across-tenants';

/**
 * A change written on the ledger whose other half is not done yet: a taken booking not yet
 * written to `bookings`, or a release whose booking still carries `releasing`. It stays here
 * until that half is done, so a retried or swept change is recognised and never applied twice.
 */
export type Inflight =
  | { id: string; kind: 'take'; booking: Booking; at: string }
  | { id: string; kind: 'release'; bookingId: string; at: string }
  | ImportedTakes;

/**
 * Imported bookings a batch took on this ledger, written compactly: what differs between them,
 * once per booking; the rest (session, date, a confirmed regular booking made `createdAt`) once.
 * A whole file's bookings pass through ledgers, so their size is what an import costs.
 */
export interface ImportedTakes {
  id: string;
  kind: 'import';
  at: string;
  /** The import the bookings come from, named on their events. */
  importId: string;
  createdAt: string;
  bookings: { id: string; adults: number; children: number; userId: string | null }[];
}

/** The bookings of imported takes on ledger `doc`, as they are stored and announced. */
export function importedBookings(doc: Pick<SlotDoc, 'sessionId' | 'date'>, change: ImportedTakes): Booking[] {
  return change.bookings.map(({ id, adults, children, userId }) => ({
    id,
    sessionId: doc.sessionId,
    date: doc.date,
    adults,
    children,
    slots: adults + children,
    bookingType: 'regular',
    userId,
    status: 'confirmed',
    source: 'direct',
    queueEntryId: null,
    holdExpiresAt: null,
    createdAt: change.createdAt,
    updatedAt: change.createdAt,
  }));
}

/**
 * The id of a release on the ledger (a booking is released at most once): `release-<booking id>`,
 * the form the inventory ledger uses too. Ledgers written before carry `release:<booking id>`,
 * which `inflightKey` still recognises, so a release in flight across an upgrade is not applied twice.
 */
export const releaseId = (bookingId: string) => `release-${bookingId}`;

/** What a change in flight is known by, whichever form its stored id has: a release by `releaseId`, a take by its booking id. */
export const inflightKey = (change: Inflight) => (change.kind === 'release' ? releaseId(change.bookingId) : change.id);

/**
 * The slot ledger of one session/date: the only place slots are counted. It holds counters, a
 * version that every write increments (writes are compare-and-set on it), the changes still in
 * flight and the events not yet published — never a list of its bookings, so a date with
 * 100,000 bookings costs what a date with 10 does.
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
  inflight: Inflight[];
  /** Alert conditions as last seen, so an alert is raised when a threshold is crossed. */
  alerts: Partial<Record<CapacityAlertType, boolean>>;
  outbox: OutboxEntry[];
}

/** The figures a batch leaves on the ledger. */
export type LedgerFigures = Pick<SlotDoc, 'maxSlots' | 'override' | 'booked' | 'available'>;

export const slotIndexes: IndexDescription[] = [{ key: { tenantId: 1, sessionId: 1, date: 1 } }];

export const slotId = (sessionId: string, date: string) => `${sessionId}:${date}`;

export function snapshotOf(doc: Pick<SlotDoc, 'sessionId' | 'date' | 'maxSlots' | 'booked' | 'available' | 'version'>): SlotSnapshot {
  return {
    sessionId: doc.sessionId,
    date: doc.date,
    maxSlots: doc.maxSlots,
    bookedSlots: doc.booked,
    availableSlots: doc.available,
    version: doc.version,
  };
}

/** Slot ledgers: read, created on first use, and written only by compare-and-set of their version. */
export class SlotStore extends OutboxLedgerStore<SlotDoc, LedgerFigures> {
  get(tenantId: string, sessionId: string, date: string): Promise<SlotDoc | null> {
    return this.docs.findOne({ _id: slotId(sessionId, date), tenantId });
  }

  /** The figures of a session's ledgers (without what is in flight), optionally within dates. */
  listForSession(tenantId: string, sessionId: string, from?: string, to?: string): Promise<SlotDoc[]> {
    const filter: Filter<SlotDoc> = { tenantId, sessionId };
    if (from || to) filter.date = { ...(from ? { $gte: from } : {}), ...(to ? { $lte: to } : {}) };
    return this.docs.find(filter, { projection: { outbox: 0, inflight: 0 } }).toArray();
  }

  /** A page of every tenant's ledgers, their figures only, for read models to rebuild from (see `acrossTenants`). */
  acrossTenants(query: AcrossTenants): Promise<SlotDoc[]> {
    return acrossTenants(this.docs, query, 'sessionId', { inflight: 0, alerts: 0 });
  }

  /** The ledger of a session/date, created at the session's default capacity if it has none yet. */
  async ensure(tenantId: string, sessionId: string, date: string, defaultCapacity: number): Promise<SlotDoc> {
    return (await this.docs.findOne({ _id: slotId(sessionId, date) })) ?? this.create(tenantId, sessionId, date, defaultCapacity);
  }

  /** Creates the ledger of a session/date (or returns the one another writer created first). */
  async create(tenantId: string, sessionId: string, date: string, defaultCapacity: number): Promise<SlotDoc> {
    const fresh: Omit<SlotDoc, 'outbox'> = {
      _id: slotId(sessionId, date),
      tenantId,
      sessionId,
      date,
      maxSlots: defaultCapacity,
      override: false,
      booked: 0,
      available: defaultCapacity,
      version: 0,
      inflight: [],
      alerts: {},
    };
    return (await this.docs.insertOrGet(fresh)).doc;
  }

  /** Records an alert condition flip; with an event only when it is raised. Null if it was already so. */
  setAlert(id: string, type: CapacityAlertType, raised: boolean, event?: EventEnvelope): Promise<SlotDoc | null> {
    const filter = { _id: id, [`alerts.${type}`]: raised ? { $ne: true } : true };
    return this.docs.update(filter as Filter<SlotDoc>, { $set: { [`alerts.${type}`]: raised } }, event ? [event] : []);
  }
}
