import type { ReadModelQuery } from '@allot/contracts';
import type { OutboxCollection, OutboxDoc } from '@allot/kit';
import type { Document, Filter } from 'mongodb';
import type { z } from 'zod';

/** What a read model asks to rebuild from: every tenant's documents, or one tenant's, session's or date's. */
export type AcrossTenants = z.output<typeof ReadModelQuery>;

/**
 * The documents of any tenant after `query.after` in `_id` order (the read-model operations'
 * cursor), narrowed by tenant, session and date where given: one more than `query.limit`, so
 * the page knows whether another follows. `sessionField` holds the session's id (`_id` for
 * sessions: the one asked for, a page of one); `projection` leaves out what is not state.
 */
export function acrossTenants<T extends OutboxDoc>(
  docs: OutboxCollection<T>,
  query: Omit<AcrossTenants, 'date'> & { date?: string | undefined },
  sessionField: string,
  projection: Document = {},
): Promise<T[]> {
  const filter: Record<string, unknown> = {};
  if (query.tenantId) filter.tenantId = query.tenantId;
  if (query.date) filter.date = query.date;
  if (query.after) filter._id = { $gt: query.after };
  if (query.sessionId) filter[sessionField] = query.sessionId;
  return docs
    .find(filter as Filter<T>, { projection: { outbox: 0, ...projection } })
    .sort({ _id: 1 })
    .limit(query.limit + 1)
    .toArray() as Promise<T[]>;
}
