import type { Collection, FindOptions } from 'mongodb';
import type { OutboxCollection, OutboxDoc } from './outbox-collection';

/**
 * The documents with these ids that also match `filter`: one `findOne` by `_id` each, all at
 * once, in the order of `ids` (those not found left out). FerretDB (SQLite) finds a document
 * through its `_id` key only for `_id` equality; `_id: {$in: [...]}` decodes every document of
 * the collection (1.3 s at 20,000 bookings, even for ten ids). MongoDB answers both by its index.
 */
export async function findEachById<T extends OutboxDoc>(
  collection: Collection<T> | OutboxCollection<T>,
  ids: readonly string[],
  filter: Record<string, unknown> = {},
  options?: FindOptions,
): Promise<T[]> {
  const docs: (T | null)[] = await Promise.all(
    ids.map((_id) => collection.findOne({ ...filter, _id } as never, options) as Promise<T | null>),
  );
  return docs.filter((doc) => doc !== null) as T[];
}
