import { AppError, type EventEnvelope } from '@allot/contracts';
import type { Clock } from './clock';
import { GroupCommit } from './group-commit';
import type { Logger } from './logger';
import { assertBeforeDeadline } from './rpc';

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

/** Where a ledger's documents live; every write is a compare-and-set of the version. */
export interface LedgerStore<D extends LedgerDoc, F> {
  byKey(key: string): Promise<D | null>;
  /**
   * Writes a batch if the ledger is still at `version`: its figures, what is now in flight and
   * the events that announce it, in one update. Null when another writer got there first.
   */
  commit(key: string, version: number, figures: F, inflight: D['inflight'], events: EventEnvelope[]): Promise<D | null>;
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

/** How many times a batch is decided again after other writers changed the ledger first. */
const MAX_ATTEMPTS = 50;
/** Ledgers this process remembers as it last wrote or read them (a stale one only costs a retry). */
const KNOWN_MAX = 10_000;

/**
 * The ledger protocol that capacity's slots and inventory's stock share — TigerBeetle's "hot
 * account": changes to one ledger are queued and decided together (group commit, one batch at a
 * time per ledger in this process) and written as one compare-and-set of its version, with the
 * events that announce them. On a conflict (another replica wrote first) the batch is re-read and
 * decided again.
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
  private readonly batches = new GroupCommit<Request | typeof TIDY, Result | undefined>((key, queued) => this.commit(key, queued));
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

  /** Does the other half of changes written on `doc`. Idempotent: a crash or the sweep repeats it. */
  protected abstract complete(doc: D, changes: D['inflight']): Promise<void>;

  /** The ledger a batch is decided against when this process has none in memory (null: there is none). */
  protected load(key: string, _requests: Request[]): Promise<D | null> {
    return this.store.byKey(key);
  }

  /** Queues a change of ledger `key`; resolves once it is written and announced (undefined: no such ledger). */
  protected async submitChange(key: string, request: Request): Promise<Result | undefined> {
    assertBeforeDeadline(); // the caller already gave up: the change must not happen
    return this.batches.submit(key, request);
  }

  /** Whether this process knows ledger `key` (from what it last wrote or read). */
  protected isKnown(key: string): boolean {
    return this.known.has(key);
  }

  /** Adopts a ledger just created with changes already in flight: they are finished as a batch's would be. */
  protected async adopt(doc: D): Promise<void> {
    this.remember(doc._id, doc);
    await this.finish(doc, doc.inflight, []);
  }

  /**
   * Does the other half of those `changes` on `doc` that this process has not finished yet, then
   * marks them done — for a subclass that must see a change's effects before announcing it.
   */
  protected async finishOpen(doc: D, changes: D['inflight']): Promise<void> {
    const done = this.done.get(doc._id);
    const open = changes.filter((c) => !done?.has(c.id));
    if (open.length) await this.completeAndMark(doc, open);
  }

  /**
   * The sweep: finishes changes left in flight for more than `ageMs` — by a crash, a failed other
   * half, or simply finished on a ledger no write came to since (those only need dropping) — and
   * drops them. (The next batch of a busy ledger drops its finished changes itself.)
   */
  async finishStale(ageMs: number): Promise<number> {
    const before = new Date(this.clock.now().getTime() - ageMs).toISOString();
    const stale = await this.store.withInflightSince(before, 100);
    for (const doc of stale) {
      await this.finishOpen(
        doc,
        doc.inflight.filter((c) => c.at < before),
      );
      await this.batches.submit(doc._id, TIDY);
    }
    return stale.length;
  }

  private async commit(key: string, queued: (Request | typeof TIDY)[]): Promise<(Result | undefined)[]> {
    const requests = queued.filter((r): r is Request => r !== TIDY);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const doc = this.known.get(key) ?? (await this.load(key, requests));
      if (!doc) return queued.map(() => undefined);
      const plan = await this.plan(doc, requests);
      const dropped = new Set(this.done.get(key)); // as it is now: more may finish while this writes
      if (!plan.changed && dropped.size === 0) return this.answer(queued, plan.results(doc));

      const inflight = [...doc.inflight.filter((change) => !dropped.has(change.id)), ...plan.accepted];
      const written = await this.store.commit(key, doc.version, plan.figures, inflight, plan.events);
      if (!written) {
        this.known.delete(key); // another writer was first: decide again from what it wrote
        continue;
      }
      this.remember(key, written);
      for (const id of dropped) this.done.get(key)?.delete(id);
      await this.finish(written, plan.accepted, plan.events);
      return this.answer(queued, plan.results(written));
    }
    throw new AppError('upstream_unavailable', 'The ledger is too busy; try again');
  }

  /** Puts the requests' results back among the queued sweeps' (which have none). */
  private answer(queued: (Request | typeof TIDY)[], results: Result[]): (Result | undefined)[] {
    let next = 0;
    return queued.map((r) => (r === TIDY ? undefined : results[next++]));
  }

  /**
   * The other half of a written batch, then its announcement. A failure here does not fail the
   * batch — the change is committed, and the sweep finishes it from the ledger's `inflight`.
   */
  private async finish(doc: D, accepted: D['inflight'], events: EventEnvelope[]): Promise<void> {
    try {
      await this.completeAndMark(doc, accepted);
      await this.store.publish(doc, events);
    } catch (error) {
      this.log.warn({ err: error, ledger: doc._id }, 'finishing a ledger batch failed; the sweep will finish it');
    }
  }

  private async completeAndMark(doc: D, changes: D['inflight']): Promise<void> {
    await this.complete(doc, changes);
    const done = this.done.get(doc._id) ?? new Set<string>();
    this.done.set(doc._id, done);
    for (const change of changes) done.add(change.id);
  }

  private remember(key: string, doc: D) {
    if (this.known.size >= KNOWN_MAX) this.known.clear();
    this.known.set(key, doc);
  }
}
