import type { Booking } from '@allot/contracts';
import type { Collection, Db, IndexDescription } from 'mongodb';

/** The queryable copy of bookings, materialised from the slot ledger's changes. */
export interface BookingDoc extends Omit<Booking, 'id'> {
  _id: string;
  tenantId: string;
  /** Increases with every change of the booking: an older state never overwrites a newer one. */
  rev: number;
}

export const bookingIndexes: IndexDescription[] = [{ key: { tenantId: 1, sessionId: 1, date: 1 } }, { key: { tenantId: 1, userId: 1 } }];

export function toBooking(doc: BookingDoc): Booking {
  const { _id, tenantId: _t, rev: _r, ...rest } = doc;
  return { id: _id, ...rest };
}

export interface BookingFilter {
  sessionId?: string;
  date?: string;
  userId?: string;
  status?: Booking['status'];
}

export class BookingStore {
  readonly docs: Collection<BookingDoc>;

  constructor(db: Db) {
    this.docs = db.collection<BookingDoc>('bookings');
  }

  async get(tenantId: string, id: string): Promise<BookingDoc | null> {
    return this.docs.findOne({ _id: id, tenantId });
  }

  /** Writes this revision of a booking unless a newer one is already there; idempotent. */
  async materialise(tenantId: string, booking: Booking, rev: number): Promise<void> {
    const { id, ...rest } = booking;
    try {
      await this.docs.insertOne({ _id: id, tenantId, rev, ...rest }); // the common case: a new booking
      return;
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
    }
    await this.docs.updateOne({ _id: id, rev: { $lt: rev } }, { $set: { ...rest, tenantId, rev } });
  }

  list(tenantId: string, filter: BookingFilter, limit: number, after?: string): Promise<BookingDoc[]> {
    const query: Record<string, unknown> = { tenantId };
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) query[key] = value;
    if (after) query._id = { $gt: after };
    return this.docs.find(query).sort({ _id: 1 }).limit(limit).toArray();
  }
}
