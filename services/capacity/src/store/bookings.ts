import { type Actor, AppError, type Booking } from '@allot/contracts';
import { isDuplicateKey } from '@allot/kit';
import type { Collection, Db, Filter, IndexDescription } from 'mongodb';
import { canSee } from '../domain/bookings';

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
  private readonly docs: Collection<BookingDoc>;

  constructor(db: Db) {
    this.docs = db.collection<BookingDoc>('bookings');
  }

  async find(tenantId: string, id: string): Promise<Booking | null> {
    const doc = await this.docs.findOne({ _id: id, tenantId });
    return doc && toBooking(doc);
  }

  /** A booking the actor may see: another tenant's, or another user's, does not exist for it. */
  async visible(tenantId: string, id: string, actor: Actor): Promise<Booking> {
    const booking = await this.find(tenantId, id);
    if (!booking || !canSee(actor, booking.userId)) throw new AppError('not_found', 'Booking not found');
    return booking;
  }

  /** Writes this revision of a booking unless a newer one is already there; idempotent. */
  async materialise(tenantId: string, booking: Booking, rev: number): Promise<void> {
    const { id, ...rest } = booking;
    try {
      await this.docs.insertOne({ _id: id, tenantId, rev, ...rest }); // the common case: a new booking
      return;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    await this.docs.updateOne({ _id: id, rev: { $lt: rev } }, { $set: { ...rest, tenantId, rev } });
  }

  list(tenantId: string, filter: BookingFilter, limit: number, after?: string): Promise<BookingDoc[]> {
    const query: Filter<BookingDoc> = { tenantId };
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) (query as Record<string, unknown>)[key] = value;
    if (after) query._id = { $gt: after };
    return this.docs.find(query).sort({ _id: 1 }).limit(limit).toArray();
  }
}
