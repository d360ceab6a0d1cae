import { isDuplicateKey, NewestWins } from '@allot/kit';
import type { Collection, Db, Filter, IndexDescription } from 'mongodb';
import type { BookingFact } from '../domain/facts';
import { type SessionFact, type SessionState, type SlotState, slotKey } from '../domain/model';

interface SessionDoc extends Omit<SessionState, 'sessionId'> {
  _id: string;
}
interface SlotDoc extends SlotState {
  _id: string;
}
interface BookingDoc extends Omit<BookingFact, 'bookingId'> {
  _id: string;
}
/** How far into the capacity stream the read model is known to be applied. */
interface ProgressDoc {
  _id: 'capacity-stream';
  appliedThrough: number;
}

export const readModelIndexes: Record<string, IndexDescription[]> = {
  sessions: [{ key: { tenantId: 1 } }],
  slots: [{ key: { tenantId: 1, sessionId: 1, date: 1 } }],
  bookings: [{ key: { tenantId: 1, sessionId: 1, createdAt: 1 } }],
};

/** What a slot write found: it stored the fact, the fact was stored already, or a newer one was. */
export type SlotWrite = 'applied' | 'current' | 'stale';

const toSession = ({ _id, ...rest }: SessionDoc): SessionState => ({ sessionId: _id, ...rest });
const toSlot = ({ _id, ...rest }: SlotDoc): SlotState => rest;

/**
 * The read model in the service's database: the source after a restart and the fallback for
 * what a replica's cache does not hold. Every write is guarded on the version, so duplicates and
 * reordered facts change nothing.
 */
export class ReadModelStore {
  private readonly sessions: Collection<SessionDoc>;
  private readonly slots: Collection<SlotDoc>;
  private readonly bookings: Collection<BookingDoc>;
  private readonly progress: Collection<ProgressDoc>;
  /** Writes of many events at once: one insert and one guarded update per batch, not per event. */
  private readonly newestSlots: NewestWins<SlotDoc>;
  private readonly newestBookings: NewestWins<BookingDoc>;

  constructor(db: Db) {
    this.sessions = db.collection('sessions');
    this.slots = db.collection('slots');
    this.bookings = db.collection('bookings');
    this.progress = db.collection('progress');
    this.newestSlots = new NewestWins(this.slots, 'version', 'existing');
    this.newestBookings = new NewestWins(this.bookings, 'rank', 'new');
  }

  /** The capacity stream sequence through which every event is applied, as last recorded. */
  async appliedThrough(): Promise<number | undefined> {
    return (await this.progress.findOne({ _id: 'capacity-stream' }))?.appliedThrough;
  }

  async recordAppliedThrough(seq: number): Promise<void> {
    await this.progress.updateOne({ _id: 'capacity-stream' }, { $max: { appliedThrough: seq } }, { upsert: true });
  }

  /** Stores each part of the fact (details, default capacity) that is newer than the stored one. */
  async applySession(fact: SessionFact): Promise<void> {
    const empty = { tenantId: fact.tenantId, name: '', isActive: false, detailsVersion: 0, maxCapacity: 0, capacityVersion: 0 };
    try {
      await this.sessions.updateOne({ _id: fact.sessionId }, { $setOnInsert: { ...empty, updatedAt: fact.at } }, { upsert: true });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error; // another writer created it at the same moment
    }
    if (fact.details) {
      await this.sessions.updateOne(
        { _id: fact.sessionId, detailsVersion: { $lt: fact.version } },
        { $set: { ...fact.details, detailsVersion: fact.version }, $max: { updatedAt: fact.at } },
      );
    }
    if (fact.maxCapacity !== undefined) {
      await this.sessions.updateOne(
        { _id: fact.sessionId, capacityVersion: { $lt: fact.version } },
        { $set: { maxCapacity: fact.maxCapacity, capacityVersion: fact.version }, $max: { updatedAt: fact.at } },
      );
    }
  }

  /** Stores the slot figures if they are newer than the stored ones. */
  async applySlot(slot: SlotState): Promise<SlotWrite> {
    const _id = slotKey(slot.sessionId, slot.date);
    const updated = await this.slots.updateOne({ _id, version: { $lt: slot.version } }, { $set: slot });
    if (updated.matchedCount > 0) return 'applied';
    return this.insertUnlessStored(this.slots, { _id, ...slot }, 'version', slot.version);
  }

  /**
   * Stores the slot figures if they are newer than the stored ones, together with other events'
   * writes — for a caller that need not know whether they were (`applySlot` tells).
   */
  writeSlot(slot: SlotState): Promise<void> {
    return this.newestSlots.write({ _id: slotKey(slot.sessionId, slot.date), ...slot });
  }

  /** Stores the booking's state if it is later than the stored one (together with other events' writes). */
  applyBooking({ bookingId, ...fact }: BookingFact): Promise<void> {
    return this.newestBookings.write({ _id: bookingId, ...fact });
  }

  async session(sessionId: string): Promise<SessionState | undefined> {
    const doc = await this.sessions.findOne({ _id: sessionId });
    return doc ? toSession(doc) : undefined;
  }

  async sessionsOf(tenantId: string): Promise<SessionState[]> {
    return (await this.sessions.find({ tenantId }).toArray()).map(toSession);
  }

  async slotsByKey(keys: string[]): Promise<SlotState[]> {
    return (await this.slots.find({ _id: { $in: keys } }).toArray()).map(toSlot);
  }

  /** Confirmed bookings of a session made since `since`, counted by hour of day. */
  async bookingsByHour(tenantId: string, sessionId: string, since: string): Promise<{ hour: number; bookingCount: number }[]> {
    const filter: Filter<BookingDoc> = { tenantId, sessionId, confirmed: true, createdAt: { $gte: since } };
    const groups = await this.bookings
      .aggregate<{ _id: number; bookingCount: number }>([{ $match: filter }, { $group: { _id: '$hour', bookingCount: { $sum: 1 } } }])
      .toArray();
    return groups.map((g) => ({ hour: g._id, bookingCount: g.bookingCount }));
  }

  /**
   * Inserts a document the guarded update found no older version of: it is new, or the stored
   * one is as new (`current`) or newer (`stale`).
   */
  private async insertUnlessStored<T extends { _id: string }>(
    collection: Collection<T>,
    doc: T,
    field: 'version' | 'rank',
    value: number,
  ): Promise<SlotWrite> {
    const stored = await collection.findOne({ _id: doc._id } as Filter<T>, { projection: { [field]: 1 } });
    if (stored) return (stored as Record<string, unknown>)[field] === value ? 'current' : 'stale';
    try {
      await collection.insertOne(doc as never);
      return 'applied';
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // Another writer inserted it meanwhile: the guarded update decides against that one.
      const { _id, ...fields } = doc;
      const again = await collection.updateOne({ _id, [field]: { $lt: value } } as Filter<T>, { $set: fields as never });
      return again.matchedCount > 0 ? 'applied' : 'stale';
    }
  }
}
