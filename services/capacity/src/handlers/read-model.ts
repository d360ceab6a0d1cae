import type { CapacityRpc, ReadModelQuery } from '@allot/contracts';
import { type Handlers, toPage } from '@allot/kit';
import type { Db, Document, Filter } from 'mongodb';
import type { z } from 'zod';
import { type BookingDoc, toBooking } from '../store/bookings';
import { type SessionDoc, toSession } from '../store/sessions';
import { type SlotDoc, snapshotOf } from '../store/slots';

type Query = z.output<typeof ReadModelQuery>;

/**
 * One page of a collection in `_id` order (the cursor is the last `_id`), narrowed by tenant,
 * session and date where given. A page holds `limit` documents at most, fewer where their size
 * would pass the kit's page budget (500 sessions with long descriptions would not fit in one
 * message).
 */
async function pageOf<T extends Document & { _id: string }, I>(
  db: Db,
  name: string,
  query: Query,
  sessionField: string,
  toItem: (doc: T) => I,
  projection: Document = {},
): Promise<{ items: I[]; nextCursor: string | null }> {
  const filter: Record<string, unknown> = {};
  if (query.tenantId) filter.tenantId = query.tenantId;
  if (query.date) filter.date = query.date;
  if (query.after) filter._id = { $gt: query.after };
  if (query.sessionId) filter[sessionField] = query.sessionId; // for sessions: that one (a page of one)
  const docs = (await db
    .collection(name)
    .find(filter as Filter<Document>, { projection: { outbox: 0, ...projection } })
    .sort({ _id: 1 })
    .limit(query.limit + 1)
    .toArray()) as unknown as T[];
  return toPage(docs, query.limit, toItem, { cursorOf: (doc) => doc._id });
}

/**
 * Read-only operations for the availability service to rebuild its read model from (after a
 * gap in the event stream, or on an admin's refresh): the stored state of every tenant, paged.
 */
export const readModelHandlers = (db: Db) =>
  ({
    'readModel.sessions': (query) =>
      pageOf(db, 'sessions', query, '_id', (doc: SessionDoc) => ({
        tenantId: doc.tenantId,
        session: toSession(doc),
        version: doc.version ?? 0,
      })),
    'readModel.slots': (query) =>
      pageOf(db, 'slots', query, 'sessionId', (doc: SlotDoc) => ({ tenantId: doc.tenantId, slots: snapshotOf(doc) }), {
        inflight: 0,
        alerts: 0,
      }),
    'readModel.bookings': (query) =>
      pageOf(db, 'bookings', query, 'sessionId', (doc: BookingDoc) => ({ tenantId: doc.tenantId, booking: toBooking(doc) })),
  }) satisfies Partial<Handlers<CapacityRpc>>;
