import type { AnyBulkWriteOperation, Collection, Db } from 'mongodb';
import { bulkWriteInParts } from './bulk-write';
import { insertNew } from './outbox-collection';

interface IdListDoc {
  /** The list's key (`IdLists.key`), or the mark of a listing done once (`fillOnce`). */
  _id: string;
  ids: string[];
}

/**
 * Lists of document ids kept under a key, for what a request must count of one owner (a user's
 * held bookings, open orders): the list is read by `_id`, then each listed document by `_id`.
 * Asking the documents' own collection by owner is one indexed read on MongoDB, but on FerretDB
 * any filter without `_id` decodes every document of the collection, once per request.
 *
 * A list may name more than it should, never less: a document is listed before it can be seen
 * in the state the list is for, and the documents themselves say which still count. So a crash,
 * a retry or a race leaves at most a stale id, which `counted` drops once its document can no
 * longer come back to that state.
 */
export class IdLists {
  /** Marks seen: a listing done once stays done, so it is read until found, then never again. */
  private readonly marks = new Set<string>();

  constructor(private readonly docs: Collection<IdListDoc>) {}

  static of(db: Db, collection: string): IdLists {
    return new IdLists(db.collection<IdListDoc>(collection));
  }

  /** A list's key from its parts (any strings: they are kept apart). */
  static key(...parts: string[]): string {
    return JSON.stringify(parts);
  }

  /**
   * Adds ids to their lists. New lists are inserted together (one command: an import lists
   * thousands at once, and on FerretDB an insert costs a fraction of an upsert); the ids of lists
   * that exist are added with one update per list.
   */
  async add(entries: { key: string; id: string }[]): Promise<void> {
    const lists = new Map<string, string[]>();
    for (const { key, id } of entries) lists.set(key, [...(lists.get(key) ?? []), id]);
    if (lists.size === 0) return;
    const docs = [...lists].map(([_id, ids]) => ({ _id, ids: [...new Set(ids)] }));
    const existing = await insertNew(this.docs, docs);
    const ops: AnyBulkWriteOperation<IdListDoc>[] = [...existing].map((i) => {
      const { _id, ids } = docs[i] as IdListDoc;
      return { updateOne: { filter: { _id }, update: { $addToSet: { ids: { $each: ids } } }, upsert: true } };
    });
    if (ops.length) await bulkWriteInParts(this.docs, ops);
  }

  /**
   * The listed documents that still `count`, read by `read` (by `_id`). Those read that never will
   * count again (`gone`; by default every one that does not count now) are dropped from the list;
   * an id whose document is not written yet stays.
   */
  async counted<T extends { _id: string }>(
    key: string,
    read: (ids: string[]) => Promise<T[]>,
    counts: (doc: T) => boolean,
    gone: (doc: T) => boolean = (doc) => !counts(doc),
  ): Promise<T[]> {
    const ids = (await this.docs.findOne({ _id: key }))?.ids ?? [];
    const docs = ids.length ? await read(ids) : [];
    const dropped = docs.filter(gone).map((d) => d._id);
    if (dropped.length) await this.docs.updateOne({ _id: key }, { $pullAll: { ids: dropped } });
    return docs.filter(counts);
  }

  /**
   * Lists what was stored before the lists existed (an upgrade), once: `entries` pages through it,
   * then `mark` is left, and later calls only read the mark. Running it twice, or beside new
   * writes, lists nothing twice.
   */
  async fillOnce(mark: string, entries: () => AsyncIterable<{ key: string; id: string }>): Promise<void> {
    if (await this.docs.findOne({ _id: mark })) return;
    let page: { key: string; id: string }[] = [];
    for await (const entry of entries()) {
      page.push(entry);
      if (page.length === 1000) {
        await this.add(page);
        page = [];
      }
    }
    await this.add(page);
    await this.docs.updateOne({ _id: mark }, { $set: { ids: [] } }, { upsert: true });
    this.marks.add(mark);
  }

  /**
   * Whether `fillOnce(mark)` has finished (here or in another replica). Until it has, the lists
   * may miss what was stored before them: a caller asks the documents themselves meanwhile.
   */
  async filled(mark: string): Promise<boolean> {
    if (this.marks.has(mark)) return true;
    if (!(await this.docs.findOne({ _id: mark }))) return false;
    this.marks.add(mark);
    return true;
  }
}
