import { type Actor, AppError, type Booking, type EventEnvelope } from '@allot/contracts';
import { bulkWriteInParts, findEachById, IdLists, type OutboxCollection, type OutboxEntry, onlyDuplicateKeys } from '@allot/kit';
import type { AnyBulkWriteOperation, Filter, IndexDescription } from 'mongodb';
import { canSee } from '../domain/bookings';
import { type AcrossTenants, acrossTenants } from './across-tenants';

/**
 * A booking: the source of its state, moved only by guarded transitions (`status` is compared
 * in the same update), so each transition happens once however often it is tried.
 */
export interface BookingDoc extends Omit<Booking, 'id'> {
  _id: string;
  tenantId: string;
  /** Set when it was cancelled or expired until the ledger has taken its slots back. */
  releasing?: true;
  outbox?: OutboxEntry[];
}

export const bookingIndexes: IndexDescription[] = [
  { key: { tenantId: 1, sessionId: 1, date: 1 } },
  { key: { tenantId: 1, userId: 1 } },
  { key: { status: 1, holdExpiresAt: 1 } },
  { key: { releasing: 1 } },
];

export function toBooking(doc: BookingDoc): Booking {
  const { _id, tenantId: _t, releasing: _r, outbox: _o, ...rest } = doc;
  return { id: _id, ...rest };
}

export interface BookingFilter {
  sessionId?: string;
  date?: string;
  userId?: string;
  status?: Booking['status'];
}

/** The mark `listExisting` leaves once the bookings stored before the lists are listed. */
const LISTED_EXISTING = 'listed-existing';

/**
 * The list a user's booking is on in its state (`IdLists`), which the limits against hoarding
 * count: held bookings per tenant and user, confirmed ones per session and date.
 */
function listed(tenantId: string, b: Pick<Booking, 'id' | 'userId' | 'status' | 'sessionId' | 'date'>): { key: string; id: string }[] {
  if (!b.userId) return [];
  if (b.status === 'held') return [{ key: IdLists.key('held', tenantId, b.userId), id: b.id }];
  if (b.status === 'confirmed') return [{ key: IdLists.key('confirmed', tenantId, b.userId, b.sessionId, b.date), id: b.id }];
  return [];
}

export class BookingStore {
  constructor(
    private readonly docs: OutboxCollection<BookingDoc>,
    /** Each user's bookings by state, for the limits against hoarding (`listed`). */
    private readonly users: IdLists,
  ) {}

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

  /** Writes new bookings; one already there (a retry, the sweep) is left as it is. */
  async insertMany(bookings: { tenantId: string; booking: Booking }[]): Promise<void> {
    if (bookings.length === 0) return;
    await this.users.add(bookings.flatMap(({ tenantId, booking }) => listed(tenantId, booking))); // before they can be seen
    const docs = bookings.map(({ tenantId, booking: { id, ...rest } }) => ({ _id: id, tenantId, ...rest }));
    try {
      await this.docs.raw.insertMany(docs, { ordered: false });
    } catch (error) {
      if (!onlyDuplicateKeys(error)) throw error;
    }
  }

  /**
   * Of these ids, the bookings that exist: one read by id each, at once. (FerretDB finds a
   * document by `_id` through its key but reads `_id: {$in: …}` by scanning every booking.)
   */
  async existing(tenantId: string, ids: string[]): Promise<BookingDoc[]> {
    return findEachById(this.docs, ids, { tenantId });
  }

  /**
   * Moves a booking from one of `from` to its next state, with the event that announces it;
   * null if it is no longer in one of them (another change won). `guard` adds conditions.
   */
  transition(
    tenantId: string,
    id: string,
    from: Booking['status'][],
    set: Partial<BookingDoc>,
    options: { guard?: Filter<BookingDoc>; events?: EventEnvelope[] } = {},
  ): Promise<BookingDoc | null> {
    return this.docs.update({ _id: id, tenantId, status: { $in: from }, ...options.guard }, { $set: set }, options.events ?? []);
  }

  /** Of these ids, the bookings still waiting for the ledger to take their slots back. */
  async releasing(ids: string[]): Promise<Set<string>> {
    const docs = await findEachById(this.docs, ids, { releasing: true }, { projection: { _id: 1 } });
    return new Set(docs.map((d) => d._id));
  }

  /** The ledger has taken these bookings' slots back. */
  async released(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const ops: AnyBulkWriteOperation<BookingDoc>[] = ids.map((_id) => ({
      updateOne: { filter: { _id, releasing: true }, update: { $unset: { releasing: '' } } },
    }));
    await bulkWriteInParts(this.docs.raw, ops);
  }

  /**
   * What the backstop finishes, in one read (on FerretDB a read by anything but `_id` decodes every
   * booking): bookings cancelled or expired before `releasedBefore` whose slots the ledger has not
   * taken back (a crash), and holds and offers past their expiry at `now` (their timers' backstop).
   */
  overdue(releasedBefore: string, now: string, limit: number): Promise<BookingDoc[]> {
    return this.docs
      .find({
        $or: [
          { releasing: true, updatedAt: { $lt: releasedBefore } },
          { status: 'held', holdExpiresAt: { $lte: now } },
        ],
      })
      .limit(limit)
      .toArray();
  }

  /** Lists the users' live bookings stored before the lists existed (an upgrade), once. */
  listExisting(): Promise<void> {
    const docs = this.docs.raw.find(
      { userId: { $ne: null }, status: { $in: ['held', 'confirmed'] } },
      { projection: { tenantId: 1, userId: 1, status: 1, sessionId: 1, date: 1 } },
    );
    return this.users.fillOnce(LISTED_EXISTING, async function* () {
      for await (const doc of docs) yield* listed(doc.tenantId, { ...doc, id: doc._id });
    });
  }

  /** Lists a held booking of a user as confirmed, before it is confirmed. */
  noteConfirmed(tenantId: string, booking: Booking): Promise<void> {
    return this.users.add(listed(tenantId, { ...booking, status: 'confirmed' }));
  }

  /** The slots a user holds (held bookings) in the tenant. */
  async heldSlotsOf(tenantId: string, userId: string): Promise<number> {
    if (!(await this.users.filled(LISTED_EXISTING))) return this.slotsWhere({ tenantId, userId, status: 'held' });
    // A booking that is no longer held never is again.
    const held = await this.users.counted(
      IdLists.key('held', tenantId, userId),
      (ids) => this.existing(tenantId, ids),
      (b) => b.userId === userId && b.status === 'held',
    );
    return held.reduce((sum, b) => sum + b.slots, 0);
  }

  /** The slots a user has confirmed on one session and date. */
  async confirmedSlotsOf(tenantId: string, userId: string, sessionId: string, date: string): Promise<number> {
    if (!(await this.users.filled(LISTED_EXISTING))) return this.slotsWhere({ tenantId, userId, sessionId, date, status: 'confirmed' });
    // A confirmed booking stays so until it is cancelled; a held one listed here may still be confirmed.
    const confirmed = await this.users.counted(
      IdLists.key('confirmed', tenantId, userId, sessionId, date),
      (ids) => this.existing(tenantId, ids),
      (b) => b.userId === userId && b.status === 'confirmed' && b.sessionId === sessionId && b.date === date,
      (b) => b.status === 'cancelled' || b.status === 'expired',
    );
    return confirmed.reduce((sum, b) => sum + b.slots, 0);
  }

  /**
   * The slots of the bookings a filter matches, read from the bookings themselves: only until the
   * bookings stored before the lists are listed (an upgrade's first seconds), since on FerretDB
   * the read decodes every booking.
   */
  private async slotsWhere(filter: Filter<BookingDoc>): Promise<number> {
    const docs = await this.docs.find(filter, { projection: { slots: 1 } }).toArray();
    return docs.reduce((sum, d) => sum + d.slots, 0);
  }

  /** A page of every tenant's bookings in any state, for read models to rebuild from (see `acrossTenants`). */
  acrossTenants(query: AcrossTenants): Promise<BookingDoc[]> {
    return acrossTenants(this.docs, query, 'sessionId');
  }

  list(tenantId: string, filter: BookingFilter, limit: number, after?: string): Promise<BookingDoc[]> {
    const query: Filter<BookingDoc> = { tenantId };
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) (query as Record<string, unknown>)[key] = value;
    if (after) query._id = { $gt: after };
    return this.docs.find(query).sort({ _id: 1 }).limit(limit).toArray();
  }
}
