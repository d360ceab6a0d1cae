import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import { bulkWriteInParts } from './bulk-write';
import { GroupCommit } from './group-commit';
import { insertNew } from './outbox-collection';

/**
 * Keeps the newest version of each document of a read model ("store it if it is newer"), with a
 * few commands per batch instead of a few per document: writes that arrive while a batch is
 * written form the next one, which keeps only the newest version of each document. Documents
 * that are mostly new (`expect: 'new'`) are inserted, and those that existed get one update
 * guarded on the version field (applied only where the stored version is older): one command
 * when all were new. Documents that mostly exist (`expect: 'existing'`) get the guarded update
 * first: one command when all matched; otherwise the batch is inserted and what was there
 * already is updated again, guarded (a no-op where the first update applied). Duplicates and
 * reordered writes change nothing.
 *
 * Not an unordered upsert with the version guard: FerretDB stops a multi-statement update at
 * its first duplicate-key error, so the documents after it would be lost.
 */
export class NewestWins<T extends { _id: string }> {
  private readonly batches = new GroupCommit<T, void>(async (_collection, docs) => {
    await this.writeBatch(docs);
    return docs.map(() => undefined);
  });

  constructor(
    private readonly collection: Collection<T>,
    /** The numeric field that orders versions of a document. */
    private readonly field: keyof T & string,
    private readonly expect: 'new' | 'existing',
  ) {}

  /** Resolves once `doc` is stored, or a version at least as new is. */
  write(doc: T): Promise<void> {
    return this.batches.submit(this.collection.collectionName, doc);
  }

  private async writeBatch(docs: T[]): Promise<void> {
    const newest = new Map<string, T>();
    for (const doc of docs) {
      const held = newest.get(doc._id);
      if (!held || this.versionOf(held) < this.versionOf(doc)) newest.set(doc._id, doc);
    }
    const batch = [...newest.values()];
    if (this.expect === 'existing' && (await this.updateOlder(batch)) === batch.length) return;
    const stored = await insertNew(this.collection, batch);
    if (stored.size) await this.updateOlder(batch.filter((_, i) => stored.has(i)));
  }

  /** Updates the documents stored with an older version; returns how many were stored at all. */
  private async updateOlder(docs: T[]): Promise<number> {
    const updates = docs.map((doc) => {
      const { _id, ...fields } = doc;
      return { updateOne: { filter: { _id, [this.field]: { $lte: this.versionOf(doc) } }, update: { $set: fields } } };
    });
    const result = await bulkWriteInParts(this.collection, updates as unknown as AnyBulkWriteOperation<T>[]);
    return result.matchedCount;
  }

  private versionOf(doc: T): number {
    return doc[this.field] as number;
  }
}
