import type { EventEnvelope } from '@allot/contracts';
import {
  type Collection,
  type Document,
  type Filter,
  type FindOptions,
  MongoBulkWriteError,
  type OptionalUnlessRequiredId,
  type UpdateFilter,
} from 'mongodb';
import { bulkWriteInParts } from './bulk-write';
import { findEachById } from './by-id';
import { GroupCommit } from './group-commit';
import { newId } from './ids';
import { type OutboxEntry, type OutboxRelay, outboxEntries } from './outbox';

/** A document that can carry pending events: the outbox of docs/architecture.md. */
export interface OutboxDoc {
  _id: string;
  outbox?: OutboxEntry[];
}

const withoutOutbox = { projection: { outbox: 0 } } as const;

/** How many marks of its last writes a versioned document keeps (`compareAndSetMany`). */
const RECENT_WRITES = 8;

/** True for MongoDB's duplicate-key error: the document (or its unique key) already exists. */
export const isDuplicateKey = (error: unknown) => (error as { code?: number } | null)?.code === 11000;

/**
 * True when a failed write failed only because its documents (or their unique keys) exist
 * already. A bulk write cut by a lost connection is a `MongoBulkWriteError` with no write errors
 * at all: that is not "all duplicates" — nothing may have been written.
 */
export function onlyDuplicateKeys(error: unknown): boolean {
  const writeErrors = (error as { writeErrors?: unknown } | null)?.writeErrors;
  if (writeErrors === undefined) return isDuplicateKey(error);
  const errors = Array.isArray(writeErrors) ? writeErrors : [writeErrors];
  return errors.length > 0 && errors.every(isDuplicateKey);
}

/**
 * Inserts the documents (one command, unordered); returns the positions of those stored already
 * (their `_id` or a unique key exists). Any other failure throws.
 */
export async function insertNew<T extends Document>(collection: Collection<T>, docs: T[]): Promise<Set<number>> {
  const stored = new Set<number>();
  if (docs.length === 0) return stored;
  try {
    await collection.insertMany(docs as OptionalUnlessRequiredId<T>[], { ordered: false });
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError) || !onlyDuplicateKeys(error)) throw error;
    const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    for (const e of errors) stored.add(e.index);
  }
  return stored;
}

/**
 * Inserts documents together with those that arrive while a batch is written: one unordered
 * `insertMany` per batch, two batches at once (the documents are independent, and one arriving
 * during a slow write need not wait for that write to end). Each caller learns whether its
 * document was stored now: false when its `_id` or a unique key of it exists already.
 */
export function groupedInserts<T extends Document>(collection: Collection<T>, maxBatch = 256): (doc: T) => Promise<boolean> {
  const inserts = new GroupCommit<T, boolean>(
    async (_collection, docs) => {
      const stored = await insertNew(collection, docs);
      return docs.map((_, i) => !stored.has(i));
    },
    maxBatch,
    2,
  );
  return (doc) => inserts.submit(collection.collectionName, doc);
}

/**
 * A collection whose documents carry their own outbox: every write stores the events that
 * announce it on the same document (one atomic update), then publishes them through the relay
 * (the relay's sweep is the backstop after a crash). Reads leave the outbox out.
 */
export class OutboxCollection<T extends OutboxDoc> {
  private readonly insertGrouped: (doc: T) => Promise<boolean>;

  constructor(
    /** The collection itself, for the store that owns it (reads and writes without events). */
    readonly raw: Collection<T>,
    private readonly relay: OutboxRelay,
  ) {
    this.insertGrouped = groupedInserts(raw);
  }

  findOne(filter: Filter<T>, options: FindOptions = {}): Promise<T | null> {
    return this.raw.findOne(filter, { ...withoutOutbox, ...options }) as Promise<T | null>;
  }

  find(filter: Filter<T>, options: FindOptions = {}) {
    return this.raw.find(filter, { ...withoutOutbox, ...options });
  }

  /** Inserts a document with its events, then publishes them. A duplicate `_id` throws (11000). */
  async insert(doc: Omit<T, 'outbox'>, events: EventEnvelope[] = [], effects?: unknown): Promise<T> {
    const full = { ...doc, outbox: outboxEntries(events, effects) } as unknown as T;
    this.owe(events);
    await this.raw.insertOne(full as OptionalUnlessRequiredId<T>).catch((error: unknown) => {
      if (isDuplicateKey(error)) this.notStored(events); // nothing was written
      throw error;
    });
    await this.publish(full, events);
    return full;
  }

  /**
   * Inserts a document with its events together with the inserts that arrive while a batch is
   * written (one `insertMany` for all of them), then publishes its events. False when a
   * document with its `_id` or a unique key of it is stored already (nothing is announced then).
   * Only the insert is shared: each caller publishes its own events, so the next batch is written
   * while this one's publish acknowledgements are still on their way.
   */
  async insertBatched(doc: Omit<T, 'outbox'>, events: EventEnvelope[] = []): Promise<boolean> {
    // The entries are made here, in the caller's trace, not in the batch's.
    const full = { ...doc, outbox: outboxEntries(events) } as unknown as T;
    this.owe(events);
    const created = await this.insertGrouped(full);
    if (created) await this.publish(full, events);
    else this.notStored(events);
    return created;
  }

  /** Inserts the document, or returns the one already stored under its `_id` (no events then). */
  async insertOrGet(doc: Omit<T, 'outbox'>, events: EventEnvelope[] = [], effects?: unknown): Promise<{ doc: T; created: boolean }> {
    try {
      return { doc: await this.insert(doc, events, effects), created: true };
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const existing = await this.findOne({ _id: doc._id } as Filter<T>);
      if (!existing) throw error;
      return { doc: existing, created: false };
    }
  }

  /**
   * Applies a guarded update with the events that announce it, in one atomic write, and
   * publishes them (unless `publish: false`: the caller publishes once what must precede the
   * announcement is done); null (and nothing announced) when the filter matched nothing.
   */
  async update(
    filter: Filter<T>,
    update: UpdateFilter<T>,
    events: EventEnvelope[] = [],
    effects?: unknown,
    options: { publish?: boolean } = {},
  ): Promise<T | null> {
    const push = events.length ? { $push: { ...(update.$push ?? {}), outbox: { $each: outboxEntries(events, effects) } } } : {};
    this.owe(events);
    const doc = (await this.raw.findOneAndUpdate(filter, { ...update, ...push } as UpdateFilter<T>, {
      returnDocument: 'after',
    })) as T | null;
    if (!doc) this.notStored(events);
    if (doc && options.publish !== false) await this.publish(doc, events);
    return doc;
  }

  /**
   * Compare-and-set of many versioned documents in one command: each is updated with `set` and
   * its events only if it is still at `doc.version`, which the write increments. Returns each
   * document as written (from `doc` and the update: nothing is read back), or null where another
   * writer was first. Unlike `update` it does not publish: the caller publishes once what must
   * precede the announcement is done.
   *
   * A bulk write reports how many matched, not which: when some did not, one read tells its own
   * writes from the others by `writes`, the marks of a document's last writes (kept through
   * later writes, so a write that landed is recognised even if another writer followed it).
   */
  async compareAndSetMany<D extends T & { version: number; writes?: string[] }>(
    writes: { doc: D; set: Partial<D>; events: EventEnvelope[] }[],
  ): Promise<(D | null)[]> {
    if (writes.length === 0) return [];
    const mark = newId('w');
    const entries = writes.map((w) => outboxEntries(w.events));
    this.owe(writes.flatMap((w) => w.events));
    const sets = writes.map(({ doc, set }) => ({
      ...set,
      version: doc.version + 1,
      writes: [...(doc.writes ?? []).slice(-(RECENT_WRITES - 1)), mark],
    }));
    const ops = writes.map(({ doc }, i) => ({
      updateOne: {
        filter: { _id: doc._id, version: doc.version } as unknown as Filter<T>,
        update: {
          $set: sets[i],
          ...(entries[i]?.length ? { $push: { outbox: { $each: entries[i] } } } : {}),
        } as unknown as UpdateFilter<T>,
      },
    }));
    const result = await bulkWriteInParts(this.raw, ops);
    let landed = (_id: string) => true;
    if (result.matchedCount < writes.length) {
      const ids = writes.map((w) => w.doc._id);
      const stored = await findEachById(this.raw, ids, {}, { projection: { writes: 1 } });
      const mine = new Set(stored.filter((d) => (d as { writes?: string[] }).writes?.includes(mark)).map((d) => d._id as string));
      landed = (_id) => mine.has(_id);
    }
    return writes.map(({ doc, events }, i) => {
      if (landed(doc._id)) return { ...doc, ...sets[i], outbox: entries[i] } as D;
      this.notStored(events);
      return null;
    });
  }

  /** Tells the relay these events are about to be stored: its sweep looks for them until they are published. */
  private owe(events: EventEnvelope[]): void {
    if (events.length) this.relay.owe(events.map((e) => e.id));
  }

  /** Tells the relay a write did not store these events after all (another writer was first). */
  private notStored(events: EventEnvelope[]): void {
    if (events.length) this.relay.forget(events.map((e) => e.id));
  }

  /** Publishes events stored on `doc` (as it was written); the relay's sweep is the backstop. */
  async publish(doc: T, events: EventEnvelope[]): Promise<void> {
    if (events.length === 0) return;
    await this.relay.flush(
      this.raw as unknown as Collection<Document>,
      doc,
      events.map((e) => e.id),
    );
  }
}
