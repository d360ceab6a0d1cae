import type { Booking } from '@allot/contracts';
import { bulkWriteInParts } from '@allot/kit';
import type { AnyBulkWriteOperation, Collection, Db } from 'mongodb';

/**
 * Which bookings a user may hold, or have confirmed on one session and date: the ids the limits
 * against hoarding read by `_id`, then each booking by `_id`. Asking the bookings collection by
 * user instead is one indexed read on MongoDB, but on FerretDB a read by anything but `_id`
 * decodes every booking of every tenant, once per user request: under a hot date's load that
 * scan took most of the database's CPU.
 *
 * A list may name more than it should, never less: a booking is listed before it can be seen
 * in that state (before its insert, before its confirmation), and the bookings themselves say
 * which still count. So a crash, a retry or a race leaves at most a stale id, which a later read
 * drops once its booking can no longer come back to that state.
 */
interface UserBookingsDoc {
  /** `["held", tenant, user]` or `["confirmed", tenant, user, session, date]`, as JSON. */
  _id: string;
  bookings: string[];
}

type Listed = Pick<Booking, 'id' | 'userId' | 'status' | 'sessionId' | 'date'>;

const heldKey = (tenantId: string, userId: string) => JSON.stringify(['held', tenantId, userId]);
const confirmedKey = (tenantId: string, userId: string, sessionId: string, date: string) =>
  JSON.stringify(['confirmed', tenantId, userId, sessionId, date]);

/** The mark left once the bookings made before the lists existed have been listed. */
const COMPLETE = 'listed-existing';

export class UserBookings {
  constructor(private readonly docs: Collection<UserBookingsDoc>) {}

  static of(db: Db): UserBookings {
    return new UserBookings(db.collection<UserBookingsDoc>('user_bookings'));
  }

  /** Lists each booking with a user under its state (held or confirmed): one upsert per list. */
  async note(bookings: { tenantId: string; booking: Listed }[]): Promise<void> {
    const lists = new Map<string, string[]>();
    for (const { tenantId, booking: b } of bookings) {
      if (!b.userId) continue;
      const key =
        b.status === 'held'
          ? heldKey(tenantId, b.userId)
          : b.status === 'confirmed'
            ? confirmedKey(tenantId, b.userId, b.sessionId, b.date)
            : '';
      if (key) lists.set(key, [...(lists.get(key) ?? []), b.id]);
    }
    if (lists.size === 0) return;
    const ops: AnyBulkWriteOperation<UserBookingsDoc>[] = [...lists].map(([_id, ids]) => ({
      updateOne: { filter: { _id }, update: { $addToSet: { bookings: { $each: ids } } }, upsert: true },
    }));
    await bulkWriteInParts(this.docs, ops);
  }

  /** The ids listed under a user's holds, or under its confirmed bookings of one session and date. */
  async listed(tenantId: string, userId: string, where: { sessionId: string; date: string } | 'held'): Promise<string[]> {
    const key = where === 'held' ? heldKey(tenantId, userId) : confirmedKey(tenantId, userId, where.sessionId, where.date);
    return (await this.docs.findOne({ _id: key }))?.bookings ?? [];
  }

  /** Whether the bookings made before these lists existed have been listed (`listExisting`). */
  async complete(): Promise<boolean> {
    return (await this.docs.findOne({ _id: COMPLETE })) !== null;
  }

  async markComplete(): Promise<void> {
    await this.docs.updateOne({ _id: COMPLETE }, { $set: { bookings: [] } }, { upsert: true });
  }

  /** Drops ids whose bookings left the list's state for good. */
  async drop(tenantId: string, userId: string, where: { sessionId: string; date: string } | 'held', ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const key = where === 'held' ? heldKey(tenantId, userId) : confirmedKey(tenantId, userId, where.sessionId, where.date);
    await this.docs.updateOne({ _id: key }, { $pullAll: { bookings: ids } });
  }
}
