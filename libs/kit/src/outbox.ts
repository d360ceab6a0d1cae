import type { EventEnvelope } from '@allot/contracts';
import type { Collection, Document, Filter } from 'mongodb';
import type { EventPublisher } from './events';
import type { Logger } from './logger';
import { currentTraceparent } from './trace';

/** An event waiting on its document to be published, with the trace it was raised in. */
export interface OutboxEntry {
  envelope: EventEnvelope;
  traceparent: string | null;
}

/** A document that can carry pending events (ENGINEERING.md: the embedded outbox). */
export interface WithOutbox {
  outbox?: OutboxEntry[];
}

/**
 * The update operator that stores events on the same document as the state change, so one
 * atomic update writes both: `{ $set: {...}, ...outboxPush(events) }`.
 */
export function outboxPush(events: EventEnvelope[]): { $push: Record<string, any> } {
  const traceparent = currentTraceparent();
  return { $push: { outbox: { $each: events.map((envelope) => ({ envelope, traceparent })) } } };
}

/**
 * Publishes the events pending on documents and then removes them from the document. Call
 * `flush` right after a write; `sweep` (on start and every few seconds) catches whatever a
 * crash left behind. Publishing uses the event id as `Nats-Msg-Id`, so publishing an event
 * twice (two relays, a crash between publish and removal) delivers it once.
 */
export class OutboxRelay {
  private readonly collections: Collection<Document>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;

  constructor(
    private readonly publisher: EventPublisher,
    private readonly log: Logger,
  ) {}

  /** Registers a collection whose documents carry an outbox. */
  watch<T extends Document>(collection: Collection<T>): this {
    this.collections.push(collection as unknown as Collection<Document>);
    return this;
  }

  /** Publishes and clears the outbox of one document; the caller passes the entries it wrote, or none to read them. */
  async flush<T extends Document>(typed: Collection<T>, id: unknown, entries?: OutboxEntry[]): Promise<void> {
    const collection = typed as unknown as Collection<Document>;
    const pending =
      entries ??
      ((await collection.findOne({ _id: id } as Filter<Document>, { projection: { outbox: 1 } }))?.outbox as OutboxEntry[] | undefined);
    if (!pending?.length) return;
    for (const entry of pending) await this.publisher.publish(entry.envelope, entry.traceparent);
    await collection.updateOne(
      { _id: id } as Filter<Document>,
      {
        $pullAll: { outbox: pending },
      } as Document,
    );
  }

  /** Flushes every document of every watched collection that still has pending events. */
  async sweep(): Promise<number> {
    let flushed = 0;
    for (const collection of this.collections) {
      const docs = collection.find({ 'outbox.0': { $exists: true } }, { projection: { outbox: 1 } });
      for await (const doc of docs) {
        await this.flush(collection, doc._id, doc.outbox as OutboxEntry[]);
        flushed++;
      }
    }
    return flushed;
  }

  /** Sweeps now and then every `intervalMs`, one sweep at a time. */
  start(intervalMs = 2000): void {
    const run = () => {
      this.sweeping ??= this.sweep()
        .catch((error) => this.log.warn({ err: error }, 'outbox sweep failed; will retry'))
        .finally(() => {
          this.sweeping = undefined;
        });
    };
    run();
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }
}
