import type { CapacityRpc } from '@allot/contracts';
import { type Handlers, toPage } from '@allot/kit';
import type { Capacity } from '../context';
import { toBooking } from '../store/bookings';
import { toSession } from '../store/sessions';
import { snapshotOf } from '../store/slots';

/** A page of what a store read across tenants: `limit` items at most, fewer where the kit's page budget is spent. */
const pageOf = <D extends { _id: string }, I>(docs: D[], limit: number, toItem: (doc: D) => I) =>
  toPage(docs, limit, toItem, { cursorOf: (doc) => doc._id });

/**
 * Read-only operations for the availability service to rebuild its read model from (after a
 * gap in the event stream, or on an admin's refresh): the stored state of every tenant, paged in
 * `_id` order (the cursor is the last `_id`). A page may hold fewer than `limit` items: 500
 * sessions with long descriptions would not fit in one message.
 */
export const readModelHandlers = ({ sessions, ledger, bookings }: Pick<Capacity, 'sessions' | 'ledger' | 'bookings'>) =>
  ({
    'readModel.sessions': async (query) =>
      pageOf(await sessions.acrossTenants(query), query.limit, (doc) => ({
        tenantId: doc.tenantId,
        session: toSession(doc),
        version: doc.version ?? 0,
      })),
    'readModel.slots': async (query) =>
      pageOf(await ledger.acrossTenants(query), query.limit, (doc) => ({ tenantId: doc.tenantId, slots: snapshotOf(doc) })),
    'readModel.bookings': async (query) =>
      pageOf(await bookings.acrossTenants(query), query.limit, (doc) => ({ tenantId: doc.tenantId, booking: toBooking(doc) })),
  }) satisfies Partial<Handlers<CapacityRpc>>;
