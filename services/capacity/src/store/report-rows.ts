import { REPORT_CURSOR_BATCH, type ReportQuery } from '@allot/kit';
import type { Db, Filter, FindCursor, IndexDescription } from 'mongodb';
import type { BookingDoc } from './bookings';
import type { QueueDoc } from './queue';
import type { SessionDoc } from './sessions';
import type { SlotDoc } from './slots';

/** What a bookings report's row shows of a booking (`_id` comes too). */
const reportedFields = {
  sessionId: 1,
  date: 1,
  status: 1,
  adults: 1,
  children: 1,
  slots: 1,
  userId: 1,
  bookingType: 1,
  createdAt: 1,
} as const;
type ReportedBooking = Pick<BookingDoc, '_id' | keyof typeof reportedFields>;

/** The order a bookings report reads a tenant's bookings in, served by an index rather than a sort in memory. */
export const reportBookingIndexes: IndexDescription[] = [{ key: { tenantId: 1, date: 1, _id: 1 } }];

/**
 * The reads of capacity's reports: cursors over bookings and sessions (rows are streamed, never
 * loaded whole) and the small per-session figures an occupancy row needs.
 */
export class ReportRowStore {
  constructor(private readonly db: Db) {}

  private get bookings() {
    return this.db.collection<BookingDoc>('bookings');
  }

  /**
   * The bookings of a report: dated in [from, to], of a session or a user if asked; by date, then
   * id; only the fields a row shows (each field read is decoded, and a report decodes every
   * booking of its range). Raw: read it through `readAhead`.
   */
  bookingCursor(tenantId: string, q: ReportQuery): FindCursor<ReportedBooking> {
    return this.bookings
      .find(bookingFilter(tenantId, q), { projection: reportedFields, batchSize: REPORT_CURSOR_BATCH, raw: true })
      .sort({ date: 1, _id: 1 }) as FindCursor<ReportedBooking>;
  }

  /** The tenant's sessions (or the one asked for), by id. */
  sessionCursor(tenantId: string, sessionId: string | null): FindCursor<SessionDoc> {
    const filter: Filter<SessionDoc> = sessionId ? { tenantId, _id: sessionId } : { tenantId };
    return this.db
      .collection<SessionDoc>('sessions')
      .find(filter, { projection: { outbox: 0 }, batchSize: REPORT_CURSOR_BATCH })
      .sort({ _id: 1 });
  }

  countSessions(tenantId: string, sessionId: string | null): Promise<number> {
    return this.db.collection<SessionDoc>('sessions').countDocuments(sessionId ? { tenantId, _id: sessionId } : { tenantId });
  }

  async sessionName(tenantId: string, id: string): Promise<string | null> {
    const doc = await this.db.collection<SessionDoc>('sessions').findOne({ _id: id, tenantId }, { projection: { name: 1 } });
    return doc?.name ?? null;
  }

  /** The last date in [from, to] that has a ledger (of the session, if asked), or null. */
  async lastLedgerDate(tenantId: string, q: ReportQuery): Promise<string | null> {
    const filter = { tenantId, ...(q.sessionId ? { sessionId: q.sessionId } : {}), ...dateRange(q) };
    const [last] = await this.db
      .collection<SlotDoc>('slots')
      .find(filter, { projection: { date: 1 } })
      .sort({ date: -1 })
      .limit(1)
      .toArray();
    return last?.date ?? null;
  }

  /** A session's ledgers in [from, to], by date (one a date: at most the days of the range). */
  slotsOf(tenantId: string, sessionId: string, q: ReportQuery): Promise<SlotDoc[]> {
    return this.db
      .collection<SlotDoc>('slots')
      .find({ tenantId, sessionId, ...dateRange(q) }, { projection: { outbox: 0, inflight: 0 } })
      .sort({ date: 1 })
      .toArray();
  }

  /** The slots held (not yet confirmed) on each date of a session in [from, to]. */
  async heldByDate(tenantId: string, sessionId: string, q: ReportQuery): Promise<Map<string, number>> {
    const held = new Map<string, number>();
    const cursor = this.bookings.find({ tenantId, sessionId, status: 'held', ...dateRange(q) }, { projection: { date: 1, slots: 1 } });
    for await (const b of cursor) held.set(b.date, (held.get(b.date) ?? 0) + b.slots);
    return held;
  }

  /** The pending waitlist entries on each date of a session in [from, to]. */
  async waitlistByDate(tenantId: string, sessionId: string, q: ReportQuery): Promise<Map<string, number>> {
    const waiting = new Map<string, number>();
    const cursor = this.db
      .collection<QueueDoc>('queue')
      .find({ tenantId, sessionId, status: 'pending', ...dateRange(q) }, { projection: { date: 1 } });
    for await (const e of cursor) waiting.set(e.date, (waiting.get(e.date) ?? 0) + 1);
    return waiting;
  }
}

function dateRange(q: ReportQuery): { date?: { $gte?: string; $lte?: string } } {
  if (!q.from && !q.to) return {};
  return { date: { ...(q.from ? { $gte: q.from } : {}), ...(q.to ? { $lte: q.to } : {}) } };
}

function bookingFilter(tenantId: string, q: ReportQuery): Filter<BookingDoc> {
  return {
    tenantId,
    ...dateRange(q),
    ...(q.sessionId ? { sessionId: q.sessionId } : {}),
    ...(q.userId ? { userId: q.userId } : {}),
  };
}
