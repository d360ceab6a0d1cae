import { AppError, type EventEnvelope } from '@allot/contracts';
import { context, ROOT_CONTEXT, type Span, trace } from '@opentelemetry/api';
import type { Filter } from 'mongodb';
import { findEachById } from './by-id';
import type { Clock } from './clock';
import type { Logger } from './logger';
import type { OutboxCollection, OutboxDoc } from './outbox-collection';
import { assertBeforeDeadline, withDeadline } from './rpc';
import { inSpan, SpanKind } from './trace';

/** A change a batch wrote on a ledger whose other half (documents elsewhere, timers) is not done yet. */
export interface InflightChange {
  id: string;
  /** When it was written (ISO): the sweep finishes changes older than its age limit. */
  at: string;
}

/** A ledger document: counters of its own, a version every write increments, and its changes in flight. */
export interface LedgerDoc<C extends InflightChange = InflightChange> {
  _id: string;
  version: number;
  inflight: C[];
}

/** One ledger's write in a tick: its figures, what is now in flight and its events, if it is still at `doc.version`. */
export interface LedgerWrite<D extends LedgerDoc, F> {
  doc: D;
  figures: F;
  inflight: D['inflight'];
  events: EventEnvelope[];
}

/** Where a ledger's documents live; every write is a compare-and-set of the version. */
export interface LedgerStore<D extends LedgerDoc, F> {
  /** The stored ledgers of these keys (those that exist). */
  byKeys(keys: string[]): Promise<D[]>;
  /**
   * Writes each ledger that is still at its version, with the events that announce it stored on
   * it (one command for all of them: `OutboxCollection.compareAndSetMany`). Each write's result
   * is the ledger as written, or null when another writer got there first.
   */
  commitMany(writes: LedgerWrite<D, F>[]): Promise<(D | null)[]>;
  /** Publishes events a commit stored on the ledger. */
  publish(doc: D, events: EventEnvelope[]): Promise<void>;
  /** Ledgers with changes in flight written before `before` (the sweep finishes them). */
  withInflightSince(before: string, limit: number): Promise<D[]>;
}

/** What a batch decided against one ledger document. */
export interface LedgerPlan<D extends LedgerDoc, F, R> {
  figures: F;
  /** The batch's changes that have another half to do; they stay on the ledger until it is done. */
  accepted: D['inflight'];
  events: EventEnvelope[];
  /** Whether the batch changes the ledger at all (if not, nothing is written). */
  changed: boolean;
  /** Each request's answer, from the document as written (or as read, when nothing was). */
  results(doc: D): R[];
}

const TIDY = Symbol('tidy');

interface Queued<Request, Result> {
  request: Request | typeof TIDY;
  /** The caller's span: the stages of its change are recorded on it as they happen. */
  span: Span | undefined;
  resolve(result: Result | undefined): void;
  reject(error: unknown): void;
}

/** How many times a ledger's batch is decided again after other writers changed it first. */
const MAX_ATTEMPTS = 50;
/** The most changes of one ledger decided in one batch. */
const MAX_BATCH = 256;
/** Ledgers this process remembers as it last wrote or read them (a stale one only costs a retry). */
const KNOWN_MAX = 10_000;

/**
 * The ledger protocol that capacity's slots and inventory's stock share — TigerBeetle's "hot
 * account". Changes queue per ledger and are written in ticks: a tick takes what every ledger
 * has queued, decides each ledger's batch in arrival order against its figures, and writes all
 * of them with one compare-and-set command (each ledger guarded by its own version) and their
 * other halves with one insert per collection. A tick starts as soon as the previous one is
 * written — nothing waits for a timer, so an idle request is never delayed — and whatever
 * arrives meanwhile forms the next, so a hot ledger and a thousand quiet ones both cost a few
 * commands per tick instead of a few per change. A ledger another replica wrote first is re-read
 * and decided again in the next round of the tick.
 *
 * A write is two halves. The ledger's own update decides; the changes it accepted stay in its
 * `inflight` until their other half — documents in other collections, timers — is done and the
 * events are published. That is what makes retries, crashes and sweeps safe: a subclass's `plan`
 * answers a request that is already in flight (or whose other half is visible) as a duplicate.
 * Finished changes are dropped from the ledger by its next write (no extra write per batch);
 * `finishStale` finishes what a crash left behind and drops it.
 *
 * A subclass supplies the pure decision (`plan`), the other half (`complete`, idempotent) and,
 * if a ledger is created on first use, `load`.
 */
export abstract class LedgerEngine<D extends LedgerDoc, Request, Result, F> {
  private readonly queues = new Map<string, Queued<Request, Result>[]>();
  private writing = false;
  private readonly known = new Map<string, D>();
  /** Changes whose other half is done, per ledger, dropped from it by its next write. */
  private readonly done = new Map<string, Set<string>>();

  constructor(
    protected readonly store: LedgerStore<D, F>,
    protected readonly clock: Clock,
    protected readonly log: Logger,
  ) {}

  /** Decides a batch against `doc`, in arrival order. */
  protected abstract plan(doc: D, requests: Request[]): Promise<LedgerPlan<D, F, Result>>;

  /** Does the other half of changes written on ledgers, all at once. Idempotent: a crash or the sweep repeats it. */
  protected abstract complete(batches: { doc: D; changes: D['inflight'] }[]): Promise<void>;

  /** A ledger that is not stored yet: created on first use by a subclass that does so (null: there is none). */
  protected async load(_key: string, _requests: Request[]): Promise<D | null> {
    return null;
  }

  /** Queues a change of ledger `key`; resolves once it is written and announced (undefined: no such ledger). */
  protected submitChange(key: string, request: Request): Promise<Result | undefined> {
    assertBeforeDeadline(); // the caller already gave up: the change must not happen
    return this.enqueue(key, request);
  }

  /** Whether this process knows ledger `key` (from what it last wrote or read). */
  protected isKnown(key: string): boolean {
    return this.known.has(key);
  }

  /** Changes what this process remembers of ledger `key` after a write outside the engine (fields it does not version). */
  protected amend(key: string, change: (doc: D) => D): void {
    const doc = this.known.get(key);
    if (doc) this.known.set(key, change(doc));
  }

  /** Adopts a ledger just created with changes already in flight: they are finished as a batch's would be. */
  protected async adopt(doc: D): Promise<void> {
    this.remember(doc._id, doc);
    await this.finish([{ doc, accepted: doc.inflight, events: [] }]);
  }

  /**
   * Does the other half of those `changes` on `doc` that this process has not finished yet, then
   * marks them done — for a subclass that must see a change's effects before announcing it.
   */
  protected async finishOpen(doc: D, changes: D['inflight']): Promise<void> {
    const done = this.done.get(doc._id);
    const open = changes.filter((c) => !done?.has(c.id));
    if (open.length) await this.completeAndMark([{ doc, changes: open }]);
  }

  /**
   * The sweep: finishes changes left in flight for more than `ageMs` — by a crash, a failed other
   * half, or simply finished on a ledger no write came to since (those only need dropping) — and
   * drops them. (The next batch of a busy ledger drops its finished changes itself.)
   */
  async finishStale(ageMs: number): Promise<number> {
    const before = new Date(this.clock.now().getTime() - ageMs).toISOString();
    const stale = await this.store.withInflightSince(before, 100);
    // Their other halves together (one write per collection), then a tidy-up write that drops them.
    const open = stale.map((doc) => ({ doc, changes: doc.inflight.filter((c) => c.at < before && !this.done.get(doc._id)?.has(c.id)) }));
    await this.completeAndMark(open).catch(async () => {
      // One ledger whose other half cannot be done yet must not hold up the others': one at a time.
      for (const one of open)
        await this.completeAndMark([one]).catch((error) =>
          this.log.warn({ err: error, ledger: one.doc._id }, 'finishing a stale ledger batch failed; the next sweep retries'),
        );
    });
    await Promise.all(stale.map((doc) => this.enqueue(doc._id, TIDY)));
    return stale.length;
  }

  private enqueue(key: string, request: Request | typeof TIDY): Promise<Result | undefined> {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(key) ?? [];
      this.queues.set(key, queue);
      const span = trace.getActiveSpan();
      span?.addEvent('ledger queued');
      queue.push({ request, span, resolve, reject });
      // Ticks belong to no one request: their commands are traced on a span of their own, and
      // what they start (timers of jobs they schedule) carries no request's deadline.
      if (!this.writing) void context.with(ROOT_CONTEXT, () => withDeadline(undefined, () => this.drain()));
    });
  }

  /** Writes ticks while anything is queued, one tick at a time. */
  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queues.size) {
        const tick = new Map<string, Queued<Request, Result>[]>();
        for (const [key, queue] of this.queues) {
          tick.set(key, queue.splice(0, MAX_BATCH));
          if (queue.length === 0) this.queues.delete(key);
        }
        const changes = [...tick.values()].reduce((n, queued) => n + queued.length, 0);
        const attributes = { 'allot.ledgers': tick.size, 'allot.changes': changes };
        await inSpan('ledger tick', { kind: SpanKind.INTERNAL, attributes }, () => this.tick(tick)).catch((error) => {
          // A failed write fails every change of its tick that was not answered; the next tick is tried afresh.
          for (const queued of tick.values()) for (const q of queued) q.reject(error);
        });
      }
    } finally {
      this.writing = false;
    }
  }

  private async tick(tick: Map<string, Queued<Request, Result>[]>): Promise<void> {
    let pending = tick;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && pending.size; attempt++) {
      const docs = await this.loadAll(pending);
      const writes: { key: string; plan: LedgerPlan<D, F, Result>; dropped: Set<string>; write: LedgerWrite<D, F> }[] = [];
      await Promise.all(
        [...pending].map(async ([key, queued]) => {
          const doc = docs.get(key);
          if (!doc) return answer(queued, []);
          const plan = await this.plan(doc, requestsOf(queued)).catch((error) => {
            for (const q of queued) q.reject(error);
            pending.delete(key);
          });
          if (!plan) return;
          const dropped = new Set(this.done.get(key)); // as it is now: more may finish while this writes
          if (!plan.changed && dropped.size === 0) return answer(queued, plan.results(doc));
          const inflight = [...doc.inflight.filter((change) => !dropped.has(change.id)), ...plan.accepted];
          writes.push({ key, plan, dropped, write: { doc, figures: plan.figures, inflight, events: plan.events } });
        }),
      );
      if (writes.length === 0) return;

      for (const { key } of writes) mark(pending.get(key), 'ledger decided');
      const written = await this.store.commitMany(writes.map((w) => w.write));
      const retry = new Map<string, Queued<Request, Result>[]>();
      const landed: { key: string; doc: D; plan: LedgerPlan<D, F, Result> }[] = [];
      writes.forEach(({ key, plan, dropped }, i) => {
        const doc = written[i];
        if (!doc) {
          this.known.delete(key); // another writer was first: decide again from what it wrote
          retry.set(key, pending.get(key) ?? []);
          return;
        }
        this.remember(key, doc);
        this.forgetDone(key, dropped);
        landed.push({ key, doc, plan });
        mark(pending.get(key), 'ledger written');
      });
      await this.finish(landed.map(({ doc, plan }) => ({ doc, accepted: plan.accepted, events: plan.events })));
      for (const { key, doc, plan } of landed) {
        mark(pending.get(key), 'other half written and announced');
        answer(pending.get(key) ?? [], plan.results(doc));
      }
      pending = retry;
    }
    for (const queued of pending.values()) {
      for (const q of queued) q.reject(new AppError('upstream_unavailable', 'The ledger is too busy; try again'));
    }
  }

  /** The ledgers of a tick: from memory, else one read for all, else created by `load`. */
  private async loadAll(pending: Map<string, Queued<Request, Result>[]>): Promise<Map<string, D>> {
    const docs = new Map<string, D>();
    const unknown: string[] = [];
    for (const key of pending.keys()) {
      const known = this.known.get(key);
      if (known) docs.set(key, known);
      else unknown.push(key);
    }
    if (unknown.length === 0) return docs;
    for (const doc of await this.store.byKeys(unknown)) docs.set(doc._id, doc);
    for (const key of unknown) {
      if (docs.has(key)) continue;
      // A ledger that cannot be created fails its own changes, not the tick's other ledgers'.
      const created = await this.load(key, requestsOf(pending.get(key) ?? [])).catch((error) => {
        for (const q of pending.get(key) ?? []) q.reject(error);
        pending.delete(key);
        return null;
      });
      if (created) docs.set(key, created);
    }
    return docs;
  }

  /**
   * The other half of written batches, then their announcements. A failure here does not fail
   * the batches — the changes are committed, and the sweep finishes them from `inflight`.
   */
  private async finish(batches: { doc: D; accepted: D['inflight']; events: EventEnvelope[] }[]): Promise<void> {
    try {
      await this.completeAndMark(batches.map(({ doc, accepted }) => ({ doc, changes: accepted })));
      await Promise.all(batches.map(({ doc, events }) => this.store.publish(doc, events)));
    } catch (error) {
      this.log.warn(
        { err: error, ledgers: batches.map((b) => b.doc._id).slice(0, 10) },
        'finishing ledger batches failed; the sweep will finish them',
      );
    }
  }

  private async completeAndMark(batches: { doc: D; changes: D['inflight'] }[]): Promise<void> {
    const open = batches.filter((b) => b.changes.length > 0);
    if (open.length) await this.complete(open);
    for (const { doc, changes } of open) {
      const done = this.done.get(doc._id) ?? new Set<string>();
      this.done.set(doc._id, done);
      for (const change of changes) done.add(change.id);
    }
  }

  /** Changes the ledger's write dropped need not be remembered as done any more. */
  private forgetDone(key: string, dropped: Set<string>) {
    const done = this.done.get(key);
    for (const id of dropped) done?.delete(id);
    if (done?.size === 0) this.done.delete(key);
  }

  private remember(key: string, doc: D) {
    if (this.known.size >= KNOWN_MAX) this.known.clear();
    this.known.set(key, doc);
  }
}

/** Records a stage of the changes' requests on their callers' spans (a benchmark's breakdown reads them). */
function mark<Request, Result>(queued: Queued<Request, Result>[] | undefined, stage: string): void {
  for (const q of queued ?? []) q.span?.addEvent(stage);
}

const requestsOf = <Request, Result>(queued: Queued<Request, Result>[]): Request[] =>
  queued.flatMap((q) => (q.request === TIDY ? [] : [q.request]));

/** Answers the queued requests in order (the sweeps' tidy-ups have no answer). */
function answer<Request, Result>(queued: Queued<Request, Result>[], results: Result[]): void {
  let next = 0;
  for (const q of queued) q.resolve(q.request === TIDY ? undefined : results[next++]);
}

/**
 * A ledger store on a collection with an embedded outbox: what every ledger's store needs of its
 * documents. A service's store extends it with its own reads and writes.
 */
export class OutboxLedgerStore<D extends LedgerDoc & OutboxDoc & { writes?: string[] }, F> implements LedgerStore<D, F> {
  constructor(readonly docs: OutboxCollection<D>) {}

  byKeys(keys: string[]): Promise<D[]> {
    return findEachById(this.docs, keys);
  }

  commitMany(writes: LedgerWrite<D, F>[]): Promise<(D | null)[]> {
    return this.docs.compareAndSetMany(
      writes.map(({ doc, figures, inflight, events }) => ({ doc, set: { ...figures, inflight } as Partial<D>, events })),
    );
  }

  publish(doc: D, events: EventEnvelope[]): Promise<void> {
    return this.docs.publish(doc, events);
  }

  withInflightSince(before: string, limit: number): Promise<D[]> {
    return this.docs
      .find({ 'inflight.at': { $lt: before } } as unknown as Filter<D>)
      .limit(limit)
      .toArray() as Promise<D[]>;
  }
}
