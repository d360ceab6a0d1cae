import { type AbstractCursor, BSON, type Document } from 'mongodb';

/**
 * A cursor's documents, each next batch asked for as soon as the one before is taken, so the
 * database serves it while the caller works through this one (a bare cursor asks only once its
 * batch is used up: the database idles while the caller works, and the caller while it waits).
 *
 * Open the cursor with `raw: true`: each document is then decoded only as it is taken, so it dies
 * young. Decoded by the driver, a whole batch is decoded at once, and with command monitoring on
 * (our traces) every reply is decoded a second time, whole, for the event alone.
 * The cursor is closed when the caller stops, early or not.
 */
export async function* readAhead<T extends Document>(cursor: AbstractCursor<T>): AsyncGenerator<T> {
  let next: Promise<boolean> = cursor.hasNext();
  try {
    while (await next) {
      const batch: unknown[] = cursor.readBufferedDocuments();
      next = cursor.hasNext();
      // Settled by the next turn of the loop, or by `finally` if the caller stops first.
      next.catch(() => {});
      for (const doc of batch) yield (doc instanceof Uint8Array ? BSON.deserialize(doc) : doc) as T;
    }
  } finally {
    await next.catch(() => false);
    await cursor.close();
  }
}
