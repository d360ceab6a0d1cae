import type { EventEnvelope } from '@allot/contracts';
import type { Collection, Document, Filter } from 'mongodb';
import { bulkWriteInParts } from './bulk-write';
import type { EventPublisher } from './events';
import type { Logger } from './logger';
import { nextRunIn, ScanPace } from './periodic';
import { currentTraceparent } from './trace';

/** An event waiting on its document to be published, with the trace it was raised in. */
export interface OutboxEntry {
  envelope: EventEnvelope;
  traceparent: string | null;
  /** What else must happen before the event is announced (read by the collection's `prepare`). */
  effects?: unknown;
}

/**
 * Runs an entry's side effects (idempotently: a crash repeats them) and returns the envelope to
 * publish, possibly completed from the document's current state.
 */
export type PrepareEntry = (entry: OutboxEntry, doc: Document) => Promise<EventEnvelope>;

/**
 * The update operator that stores events on the same document as the state change, so one
 * atomic update writes both: `{ $set: {...}, ...outboxPush(events) }`.
 */
export function outboxPush(events: EventEnvelope[], effects?: unknown): { $push: Record<string, any> } {
  return { $push: { outbox: { $each: outboxEntries(events, effects) } } };
}

/** Outbox entries for a document being inserted: `insertOne({ ...doc, outbox: outboxEntries(events) })`. */
export function outboxEntries(events: EventEnvelope[], effects?: unknown): OutboxEntry[] {
  const traceparent = currentTraceparent();
  return events.map((envelope) => (effects === undefined ? { envelope, traceparent } : { envelope, traceparent, effects }));
}

/** How long published entries wait to be removed together from their document (ms). */
const REMOVAL_DELAY_MS = 50;

/**
 * How often the relay scans every watched collection even when this process owes nothing: for
 * what a peer replica left when it died and was not restarted (a restarted one sweeps on start).
 * At least this often, and less often after a long scan (`ScanPace`).
 */
export const FULL_SWEEP_MS = 30_000;

/**
 * Publishes the events pending on documents and then removes them from the document. Call
 * `flush` right after a write; `sweep` (on start and every few seconds) catches whatever a
 * crash left behind. Publishing uses the event id as `Nats-Msg-Id`, so publishing an event
 * twice (two relays, a crash between publish and removal) delivers it once.
 *
 * Removal is batched: entries published from one document within a few milliseconds are pulled
 * in one update, so a busy document is rewritten once per batch rather than once per event
 * (a whole-document rewrite is what a write costs on FerretDB). A crash before the removal
 * only means the sweep publishes them again, which JetStream drops.
 */
export class OutboxRelay {
  private readonly collections: { collection: Collection<Document>; prepare?: PrepareEntry }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;
  private stopped = false;
  /** Published entries not yet removed, per document, and their event ids. */
  private readonly toRemove = new Map<string, { collection: Collection<Document>; id: unknown; entries: OutboxEntry[] }>();
  private readonly publishedIds = new Set<string>();
  private removalTimer: NodeJS.Timeout | undefined;
  private removing: Promise<void> = Promise.resolve();
  /** Events this process stored and has not published yet, with when it stored them (ms). */
  private readonly owed = new Map<string, number>();
  private readonly fullSweeps = new ScanPace(FULL_SWEEP_MS);

  constructor(
    private readonly publisher: EventPublisher,
    private readonly log: Logger,
  ) {}

  /** Registers a collection whose documents carry an outbox, with how to prepare its entries. */
  watch<T extends Document>(collection: Collection<T>, prepare?: PrepareEntry): this {
    this.collections.push({ collection: collection as unknown as Collection<Document>, prepare });
    return this;
  }

  /**
   * Notes events about to be stored (by `OutboxCollection`): until they are published, the
   * sweep knows this process owes them. A write that failed leaves them owed until a sweep
   * finds nothing of them.
   */
  owe(eventIds: string[]): void {
    const now = Date.now();
    for (const id of eventIds) this.owed.set(id, now);
  }

  /** Forgets events a write did not store after all (its guard did not match, the document existed). */
  forget(eventIds: string[]): void {
    for (const id of eventIds) this.owed.delete(id);
  }

  /**
   * Publishes and clears the outbox of one document: the caller passes the document its update
   * returned (with `_id` and `outbox`) and, to publish just what it wrote, those event ids (other
   * writers flush their own; the sweep catches what a crash left). Entries appended meanwhile
   * stay for their writer. It never throws: the change it announces is already stored, so a
   * failure here (NATS unreachable, say) is left to the sweep instead of failing the caller.
   */
  async flush<T extends Document>(typed: Collection<T>, doc: Document | null | undefined, eventIds?: string[]): Promise<void> {
    try {
      await this.publishEntries(typed as unknown as Collection<Document>, doc, eventIds);
    } catch (error) {
      // Owed (again: a sweep that began before the write may have cleared them) until published.
      if (eventIds) this.owe(eventIds);
      this.log.warn({ err: error }, 'publishing stored events failed; the outbox sweep will retry');
    }
  }

  private async publishEntries(collection: Collection<Document>, doc: Document | null | undefined, eventIds?: string[]) {
    const stored = doc?.outbox as OutboxEntry[] | undefined;
    const pending = (eventIds ? stored?.filter((e) => eventIds.includes(e.envelope.id)) : stored)?.filter(
      (e) => !this.publishedIds.has(e.envelope.id),
    );
    if (!doc || !pending?.length) return;
    const prepare = this.collections.find((c) => c.collection.namespace === collection.namespace)?.prepare;
    const envelopes: EventEnvelope[] = [];
    for (const entry of pending) envelopes.push(prepare ? await prepare(entry, doc) : entry.envelope);
    // Sent in order without waiting for each acknowledgement in turn: a batch's events cost one round trip, not one each.
    await Promise.all(envelopes.map((envelope, i) => this.publisher.publish(envelope, pending[i]?.traceparent ?? null)));
    for (const entry of pending) this.owed.delete(entry.envelope.id);
    this.removeLater(collection, doc._id, pending);
  }

  private removeLater(collection: Collection<Document>, id: unknown, entries: OutboxEntry[]) {
    const key = `${collection.namespace}\u0000${String(id)}`;
    const batch = this.toRemove.get(key) ?? { collection, id, entries: [] };
    this.toRemove.set(key, batch);
    for (const entry of entries) {
      batch.entries.push(entry);
      this.publishedIds.add(entry.envelope.id);
    }
    this.removalTimer ??= setTimeout(() => {
      this.removalTimer = undefined;
      this.removing = this.removing.then(() => this.removePublished());
    }, REMOVAL_DELAY_MS);
  }

  /**
   * Pulls the published entries from their documents: one command per collection for all its
   * documents (many quiet documents cost one round trip, as one busy document does).
   */
  private async removePublished(): Promise<void> {
    const byCollection = new Map<Collection<Document>, { id: unknown; entries: OutboxEntry[] }[]>();
    for (const { collection, id, entries } of this.toRemove.values()) {
      byCollection.set(collection, [...(byCollection.get(collection) ?? []), { id, entries }]);
    }
    this.toRemove.clear();
    for (const [collection, docs] of byCollection) {
      try {
        await bulkWriteInParts(
          collection,
          docs.map(({ id, entries }) => ({
            updateOne: { filter: { _id: id } as Filter<Document>, update: { $pullAll: { outbox: entries } } as Document },
          })),
        );
      } catch (error) {
        // Left on the documents: the sweep publishes them again (dropped by JetStream) and retries.
        this.log.warn({ err: error }, 'removing published outbox entries failed');
      }
      for (const { entries } of docs) for (const entry of entries) this.publishedIds.delete(entry.envelope.id);
    }
  }

  /** Resolves once every published entry has been removed from its document. */
  async settle(): Promise<void> {
    clearTimeout(this.removalTimer);
    this.removalTimer = undefined;
    this.removing = this.removing.then(() => this.removePublished());
    await this.removing;
  }

  /** Flushes every document of every watched collection that still has pending events. */
  async sweep(): Promise<number> {
    const started = Date.now();
    let flushed = 0;
    for (const { collection } of this.collections) {
      for await (const doc of collection.find({ 'outbox.0': { $exists: true } })) {
        await this.publishEntries(collection, doc);
        flushed++;
      }
    }
    // What was owed before the scan began is published now, or was never stored.
    for (const [id, at] of this.owed) if (at < started) this.owed.delete(id);
    this.fullSweeps.ran(started);
    return flushed;
  }

  /** Whether a periodic sweep has anything to look for: events owed for a while, or the full sweep is due. */
  private sweepDue(intervalMs: number): boolean {
    if (this.fullSweeps.due()) return true;
    const now = Date.now();
    for (const at of this.owed.values()) if (now - at >= intervalMs) return true;
    return false;
  }

  /**
   * Sweeps now, then checks every `intervalMs` whether a sweep is due: when this process owes
   * events it stored more than `intervalMs` ago (a publish or the rest of a write failed), and
   * every `FULL_SWEEP_MS` (or longer after a long scan) for peers that died. A sweep decodes
   * every document of its collections on FerretDB, so it runs only when it has something to
   * find, and is paced after a long one (`nextRunIn`) rather than run back to back.
   */
  start(intervalMs = 2000): void {
    const run = () => {
      const started = Date.now();
      const due = this.sweepDue(intervalMs);
      this.sweeping ??= (due ? this.sweep() : Promise.resolve(0))
        .catch((error) => this.log.warn({ err: error }, 'outbox sweep failed; will retry'))
        .finally(() => {
          this.sweeping = undefined;
          if (this.stopped) return;
          this.timer = setTimeout(run, nextRunIn(intervalMs, Date.now() - started));
          this.timer.unref();
        });
    };
    run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sweeping;
    await this.settle();
  }
}
