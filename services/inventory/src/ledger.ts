import { AppError, type EventEnvelope, type Order, type OrderStatus } from '@allot/contracts';
import { assertBeforeDeadline, GroupCommit, type Logger, newId, type OutboxEntry } from '@allot/kit';
import type { InventoryService } from './context';
import { type Decision, decideBatch, type StockChange, type Waiting } from './domain/stock';
import type { MovementDoc, MovementStore } from './store/movements';
import { type NewOrder, type OrderOutcomeDoc, type OrderStore, toOrder } from './store/orders';
import { type Inflight, type SkuDoc, SkuStore } from './store/skus';

export type StockRequest =
  | { kind: 'order'; order: NewOrder; reused: boolean }
  | { kind: 'restock'; quantity: number; reason: string | null }
  | { kind: 'adjust'; delta: number; reason: string }
  | { kind: 'settle'; orderId: string; to: 'reserved' | 'failed' | 'cancelled'; reason: string | null; supplierChecks?: number }
  | { kind: 'release'; orderId: string; qty: number };

export type StockResult =
  /** Done (or, `duplicate`, done before); `order` is a new order as decided. */
  { ok: true; doc: SkuDoc; order?: NewOrder; duplicate?: boolean } | { ok: false; reason: 'below_zero' | 'not_waiting'; doc: SkuDoc };

type Queued = StockRequest | { kind: 'tidy' };

/** How many times a batch is decided again after another writer changed the SKU first. */
const MAX_ATTEMPTS = 50;
const KNOWN_MAX = 10_000;

/** The id of a release on the SKU (an order's stock comes back at most once). */
const releaseId = (orderId: string) => `release-${orderId}`;
const settleId = (orderId: string) => `settle-${orderId}`;

/**
 * Every change of stock goes through here, as capacity's ledger does for slots: changes to one
 * SKU are decided together (group commit, one batch at a time per SKU in this process) and
 * written as one compare-and-set of its version with the events that announce them; on a
 * conflict (another replica wrote first) the batch is re-read and decided again. After the
 * write, its other half: movements and new orders are written with one bulk insert each,
 * waiting orders get their new state, supplier requests are scheduled, and the events are
 * published. Until then a change stays `inflight` on the SKU, which makes retries and sweeps
 * safe: a new order is a duplicate if it is in flight or exists; a release, if it is in flight
 * or its order is no longer marked `releasing`; a waiting order is settled once, by whoever
 * takes it off the SKU's waiting line first.
 */
export class StockLedger {
  readonly skus: SkuStore;
  private readonly batches = new GroupCommit<Queued, StockResult | undefined>((key, requests) => this.commit(key, requests));
  private readonly known = new Map<string, SkuDoc>();
  /** In-flight changes whose other half is done, dropped from the SKU by its next write. */
  private readonly done = new Map<string, Set<string>>();

  constructor(
    private readonly service: InventoryService,
    private readonly orders: OrderStore,
    private readonly movements: MovementStore,
    private readonly log: Logger,
  ) {
    this.skus = new SkuStore(service.outboxCollection<SkuDoc>('skus', (entry) => this.prepare(entry)));
  }

  /** Submits a change of the SKU `key` (`<tenantId>:<sku>`); resolves once it is written and announced. */
  async submit(key: string, request: StockRequest): Promise<StockResult> {
    assertBeforeDeadline(); // the caller already gave up: the change must not happen
    const result = await this.batches.submit(key, request);
    if (!result) throw new AppError('unknown_sku', `No SKU ${key.slice(key.indexOf(':') + 1)}`);
    return result;
  }

  /** Whether the SKU `key` exists (from what this process last wrote, else one small read). */
  async exists(key: string): Promise<boolean> {
    return this.known.has(key) || (await this.skus.exists(key));
  }

  /** Finishes a SKU just created with its first change in flight (its `initial` movement). */
  async created(doc: SkuDoc): Promise<void> {
    this.remember(doc._id, doc);
    await this.finish(doc._id, doc, doc.inflight, []);
  }

  private async commit(key: string, requests: Queued[]): Promise<(StockResult | undefined)[]> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const doc = this.known.get(key) ?? (await this.skus.byKey(key));
      if (!doc) return requests.map(() => undefined);
      const plan = await this.plan(doc, requests);
      const dropped = new Set(this.done.get(key)); // as it is now: more may finish while this writes
      if (plan.accepted.length === 0 && dropped.size === 0) return plan.results(doc);

      const inflight = [...doc.inflight.filter((change) => !dropped.has(change.id)), ...plan.accepted];
      const written = await this.skus.commit(key, doc.version, plan.figures, inflight, plan.events);
      if (!written) {
        this.known.delete(key); // another writer was first: decide again from what it wrote
        continue;
      }
      this.remember(key, written);
      for (const id of dropped) this.done.get(key)?.delete(id);
      await this.finish(key, written, plan.accepted, plan.events);
      return plan.results(written);
    }
    throw new AppError('upstream_unavailable', 'The SKU is too busy; try again');
  }

  /** Decides a batch against `doc`: what is accepted, the figures after it, its events and each request's result. */
  private async plan(doc: SkuDoc, requests: Queued[]) {
    const inflight = new Set(doc.inflight.map((change) => change.id));
    const reused = requests.flatMap((r) => (r.kind === 'order' && r.reused && !inflight.has(r.order._id) ? [r.order._id] : []));
    const existing = new Map((await this.orders.existing(reused)).map((o) => [o._id, o]));
    const releases = requests.flatMap((r) => (r.kind === 'release' && !inflight.has(releaseId(r.orderId)) ? [r.orderId] : []));
    const stillMarked = await this.orders.releasing(releases);

    // A request is answered from what is already there (a duplicate), or is a change to decide.
    // A second creation or release of one order in the same batch (a retry, the sweep) is a duplicate too.
    const seen = new Set<string>();
    const duplicate = requests.map((r) => {
      if (r.kind !== 'order' && r.kind !== 'release') return false;
      const id = r.kind === 'order' ? r.order._id : releaseId(r.orderId);
      const before = r.kind === 'order' ? existing.has(id) : !stillMarked.has(r.orderId);
      const again = inflight.has(id) || before || seen.has(id);
      seen.add(id);
      return again;
    });
    const changes: { index: number; change: StockChange }[] = [];
    requests.forEach((r, index) => {
      if (duplicate[index] || r.kind === 'tidy') return;
      if (r.kind === 'order') changes.push({ index, change: { kind: 'order', order: waitingOf(r.order) } });
      else changes.push({ index, change: r });
    });
    const { figures, decisions } = decideBatch(
      { quantity: doc.quantity, waiting: doc.waiting, seq: doc.seq },
      changes.map((c) => c.change),
      () => newId('mv'),
    );
    const decided = new Map<number, Decision>(changes.map((c, i) => [c.index, decisions[i] as Decision]));

    const at = this.service.clock.now().toISOString();
    const event = this.service.event.bind(this.service);
    const { tenantId, sku } = doc;
    const accepted: Inflight[] = [];
    const events: EventEnvelope[] = [];
    const newOrders = new Map<number, NewOrder>();
    requests.forEach((r, index) => {
      const decision = decided.get(index);
      if (!decision?.accepted || r.kind === 'tidy') return;
      const movements: MovementDoc[] = decision.movements.map(({ id, ...m }) => ({ _id: id, tenantId, sku, at, ...m }));
      const outcomes: OrderOutcomeDoc[] = [];
      let newOrder: NewOrder | undefined;
      for (const { orderId, status } of decision.orders) {
        if (r.kind === 'order' && orderId === r.order._id) {
          // The new order, as it is first written: pending, and reserved at once if the stock was there.
          newOrder = status === 'pending' ? r.order : withStatus(r.order, status, at, null);
          events.push(event(tenantId, 'order.created', { order: orderOf(r.order), reason: null }));
          if (status !== 'pending')
            events.push(event(tenantId, `order.${status as 'reserved'}`, { order: orderOf(newOrder), reason: null }));
          newOrders.set(index, newOrder);
          continue;
        }
        const own = r.kind === 'settle' && r.orderId === orderId;
        const reason = own ? r.reason : null;
        outcomes.push({
          orderId,
          status,
          reason,
          at,
          ...(own && r.supplierChecks !== undefined ? { supplierChecks: r.supplierChecks } : {}),
        });
        const waiting = doc.waiting.find((w) => w.orderId === orderId);
        if (waiting)
          events.push(
            event(tenantId, `order.${status as 'reserved' | 'failed' | 'cancelled'}`, {
              order: placeholder(sku, waiting, status, at),
              reason,
            }),
          );
      }
      for (const movement of decision.movements) {
        events.push(event(tenantId, 'stock.changed', { movement: { ...movement, sku, at } }));
      }
      const id =
        r.kind === 'order'
          ? r.order._id
          : r.kind === 'settle'
            ? settleId(r.orderId)
            : r.kind === 'release'
              ? releaseId(r.orderId)
              : newId('chg');
      accepted.push({
        id,
        at,
        movements,
        outcomes,
        ...(newOrder ? { newOrder } : {}),
        ...(r.kind === 'release' ? { released: r.orderId } : {}),
      });
    });
    const low = figures.quantity < doc.reorderLevel;
    if (low && !doc.low)
      events.push(event(tenantId, 'stock.low_detected', { sku, quantity: figures.quantity, reorderLevel: doc.reorderLevel }));

    const results = (written: SkuDoc): (StockResult | undefined)[] =>
      requests.map((r, index) => {
        if (r.kind === 'tidy') return undefined;
        if (duplicate[index]) return { ok: true, doc: written, duplicate: true };
        const decision = decided.get(index) as Decision;
        if (!decision.accepted) return { ok: false, reason: decision.reason, doc: written };
        return { ok: true, doc: written, order: newOrders.get(index) };
      });
    return { figures: { ...figures, low, updatedAt: accepted.length ? at : doc.updatedAt }, accepted, events, results };
  }

  /**
   * The other half of a written batch. A failure here does not fail the batch — the change is
   * committed, and the sweep finishes it from the SKU's `inflight`.
   */
  private async finish(key: string, doc: SkuDoc, accepted: Inflight[], events: EventEnvelope[]): Promise<void> {
    try {
      await this.completeInflight(doc, accepted);
      await this.skus.publish(doc, events);
    } catch (error) {
      this.log.warn({ err: error, sku: key }, 'finishing a stock batch failed; the sweep will finish it');
    }
  }

  /** Writes movements and new orders, settles waiting orders, schedules supplier requests; then they are done. */
  private async completeInflight(doc: SkuDoc, changes: Inflight[]): Promise<void> {
    await this.movements.insertMany(changes.flatMap((c) => c.movements));
    const created = changes.flatMap((c) => (c.newOrder ? [c.newOrder] : []));
    await this.orders.insertMany(created);
    await this.orders.applyOutcomes(changes.flatMap((c) => c.outcomes));
    await this.orders.released(changes.flatMap((c) => (c.released ? [c.released] : [])));
    // An order the stock could not serve asks the supplier, durably.
    const toSupplier = created.filter((o) => o.status === 'pending');
    await this.service.jobs.scheduleMany(
      'supplier-reserve',
      toSupplier.map((o) => ({ id: o._id, dueAt: this.service.clock.now(), payload: { orderId: o._id } })),
    );
    const done = this.done.get(doc._id) ?? new Set<string>();
    this.done.set(doc._id, done);
    for (const change of changes) done.add(change.id);
  }

  /**
   * The sweep: finishes changes left in flight for more than `ageMs` — by a crash, a failed other
   * half, or simply finished on a SKU no write came to since (those only need dropping) — and
   * drops them from the SKU. (The next batch of a busy SKU drops its finished changes itself.)
   */
  async finishStale(ageMs: number): Promise<number> {
    const before = new Date(this.service.clock.now().getTime() - ageMs).toISOString();
    const stale = await this.skus.withInflightSince(before, 100);
    for (const doc of stale) {
      const done = this.done.get(doc._id);
      await this.completeInflight(
        doc,
        doc.inflight.filter((c) => c.at < before && !done?.has(c.id)),
      );
      await this.batches.submit(doc._id, { kind: 'tidy' });
    }
    return stale.length;
  }

  /**
   * Before an order event stored on the SKU is published: an order the SKU settled without its
   * document at hand (a waiting order) is announced as its document now reads, in the state the
   * event announces — after the batch's other half, so the order can be read when it is heard of.
   */
  private async prepare(entry: OutboxEntry): Promise<EventEnvelope> {
    const data = entry.envelope.data as { order?: Order; reason: string | null };
    if (!data.order || data.order.history.length > 0) return entry.envelope;
    const stored = await this.orders.byId(data.order.id);
    if (!stored) return entry.envelope;
    return { ...entry.envelope, data: { ...data, order: { ...toOrder(stored), status: data.order.status } } };
  }

  private remember(key: string, doc: SkuDoc) {
    if (this.known.size >= KNOWN_MAX) this.known.clear();
    this.known.set(key, doc);
  }
}

const waitingOf = (order: NewOrder): Waiting => ({ orderId: order._id, qty: order.qty, userId: order.userId, createdAt: order.createdAt });

const withStatus = (order: NewOrder, status: OrderStatus, at: string, reason: string | null): NewOrder => ({
  ...order,
  status,
  updatedAt: at,
  history: [...order.history, { status, at, reason }],
});

const orderOf = ({ _id, tenantId: _tenant, ...rest }: NewOrder): Order => ({ id: _id, ...rest });

/** A waiting order's event before its document is at hand: `prepare` completes it from the document (its empty history says so). */
function placeholder(sku: string, waiting: Waiting, status: OrderStatus, at: string): Order {
  return {
    id: waiting.orderId,
    sku,
    qty: waiting.qty,
    userId: waiting.userId,
    status,
    supplierRef: null,
    supplierChecks: 0,
    history: [],
    createdAt: waiting.createdAt,
    updatedAt: at,
  };
}
