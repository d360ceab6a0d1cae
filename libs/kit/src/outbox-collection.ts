import type { EventEnvelope } from '@allot/contracts';
import type { Collection, Document, Filter, FindOptions, OptionalUnlessRequiredId, UpdateFilter } from 'mongodb';
import { type OutboxEntry, type OutboxRelay, outboxEntries } from './outbox';

/** A document that can carry pending events (ENGINEERING.md: the embedded outbox). */
export interface OutboxDoc {
  _id: string;
  outbox?: OutboxEntry[];
}

const withoutOutbox = { projection: { outbox: 0 } } as const;

/** True for MongoDB's duplicate-key error: the document (or its unique key) already exists. */
export const isDuplicateKey = (error: unknown) => (error as { code?: number } | null)?.code === 11000;

/**
 * A collection whose documents carry their own outbox: every write stores the events that
 * announce it on the same document (one atomic update), then publishes them through the relay
 * (the relay's sweep is the backstop after a crash). Reads leave the outbox out.
 */
export class OutboxCollection<T extends OutboxDoc> {
  constructor(
    /** The collection itself, for the store that owns it (reads and writes without events). */
    readonly raw: Collection<T>,
    private readonly relay: OutboxRelay,
  ) {}

  findOne(filter: Filter<T>, options: FindOptions = {}): Promise<T | null> {
    return this.raw.findOne(filter, { ...withoutOutbox, ...options }) as Promise<T | null>;
  }

  find(filter: Filter<T>, options: FindOptions = {}) {
    return this.raw.find(filter, { ...withoutOutbox, ...options });
  }

  /** Inserts a document with its events, then publishes them. A duplicate `_id` throws (11000). */
  async insert(doc: Omit<T, 'outbox'>, events: EventEnvelope[] = [], effects?: unknown): Promise<T> {
    const full = { ...doc, outbox: outboxEntries(events, effects) } as unknown as T;
    await this.raw.insertOne(full as OptionalUnlessRequiredId<T>);
    await this.publish(full, events);
    return full;
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
    const doc = (await this.raw.findOneAndUpdate(filter, { ...update, ...push } as UpdateFilter<T>, {
      returnDocument: 'after',
    })) as T | null;
    if (doc && options.publish !== false) await this.publish(doc, events);
    return doc;
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
