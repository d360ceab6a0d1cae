import type { AnyBulkWriteOperation, BulkWriteOptions, Collection, Document } from 'mongodb';

/**
 * The most statements one bulk write sends. FerretDB 1.24 on SQLite never answers an `update`
 * command of 100 statements or more (99 are answered in a few hundred ms), so a bulk write of
 * many documents — a ledger tick over a hundred dates, the relay tidying a hundred outboxes — is
 * sent in parts; MongoDB takes the parts as it took the whole.
 */
export const BULK_WRITE_PART = 64;

/** `bulkWrite` in parts of at most `BULK_WRITE_PART` statements, one after the other; the counts are summed. */
export async function bulkWriteInParts<T extends Document>(
  collection: Collection<T>,
  ops: AnyBulkWriteOperation<T>[],
  options: BulkWriteOptions = { ordered: false },
): Promise<{ matchedCount: number; modifiedCount: number }> {
  let matchedCount = 0;
  let modifiedCount = 0;
  for (let at = 0; at < ops.length; at += BULK_WRITE_PART) {
    const result = await collection.bulkWrite(ops.slice(at, at + BULK_WRITE_PART), options);
    matchedCount += result.matchedCount;
    modifiedCount += result.modifiedCount;
  }
  return { matchedCount, modifiedCount };
}
