import { AppError, type EventEnvelope, type Order, type OrderStatus } from '@allot/contracts';
import { LedgerEngine, type LedgerPlan, type Logger, newId, type OutboxEntry } from '@allot/kit';
import type { InventoryService } from './config';
import { type Decision, decideBatch, type StockChange, type Waiting } from './domain/stock';
import { supplierReserve } from './job-kinds';
import type { MovementDoc, MovementStore } from './store/movements';
import { type NewOrder, type OrderOutcomeDoc, type OrderStore, toOrder } from './store/orders';
import { type Inflight, type SkuDoc, type SkuFigures, SkuStore } from './store/skus';

export type StockRequest =
  | { kind: 'order'; order: NewOrder; reused: boolean }
  | { kind: 'restock'; quantity: number; reason: string | null; unitCost?: number | null }
  | { kind: 'adjust'; delta: number; reason: string }
  | { kind: 'settle'; orderId: string; to: 'reserved' | 'failed' | 'cancelled'; reason: string | null; supplierChecks?: number }
  | { kind: 'release'; orderId: string; qty: number };

export type StockResult =
  /** Done (or, `duplicate`, done before); `order` is a new order as decided. */
  { ok: true; doc: SkuDoc; order?: NewOrder; duplicate?: boolean } | { ok: false; reason: 'below_zero' | 'not_waiting'; doc: SkuDoc };

/** The id of a release on the SKU (an order's stock comes back at most once). */
const releaseId = (orderId: string) => `release-${orderId}`;
const settleId = (orderId: string) => `settle-${orderId}`;

/**
 * Every change of stock goes through here: the kit's ledger engine, with one ledger per SKU.
 * After a batch's write, its other half: movements and new orders are written with one bulk
 * insert each, waiting orders get their new state, supplier requests are scheduled, and the
 * events are published. Until then a change stays `inflight` on the SKU: a new order is a
 * duplicate if it is in flight or exists; a release, if it is in flight or its order is no longer
 * marked `releasing`; a waiting order is settled once, by whoever takes it off the SKU's waiting
 * line first.
 */
export class StockLedger extends LedgerEngine<SkuDoc, StockRequest, StockResult, SkuFigures> {
  readonly skus: SkuStore;

  constructor(
    /** Of the service, what the ledger uses: its collection with an outbox, the time, its events and delayed jobs. */
    private readonly service: Pick<InventoryService, 'outboxCollection' | 'clock' | 'event' | 'jobs'>,
    private readonly orders: OrderStore,
    private readonly movements: MovementStore,
    log: Logger,
  ) {
    // The relay's hook is only called after construction, when `this` is the ledger.
    const skus = new SkuStore(
      service.outboxCollection<SkuDoc>('skus', (entry, doc) => (this as StockLedger).prepare(entry, doc as SkuDoc)),
    );
    super(skus, service.clock, log);
    this.skus = skus;
  }

  /** Submits a change of the SKU `key` (`<tenantId>:<sku>`); resolves once it is written and announced. */
  async submit(key: string, request: StockRequest): Promise<StockResult> {
    const result = await this.submitChange(key, request);
    if (!result) throw new AppError('unknown_sku', `No SKU ${key.slice(key.indexOf(':') + 1)}`);
    return result;
  }

  /** Whether the SKU `key` exists (from what this process last wrote, else one small read). */
  async exists(key: string): Promise<boolean> {
    return this.isKnown(key) || (await this.skus.exists(key));
  }

  /** Renames a SKU or changes its reorder level (remembered as written), then returns it; null if there is none. */
  async describe(key: string, details: Partial<Pick<SkuDoc, 'name' | 'reorderLevel'>>, at: string): Promise<SkuDoc | null> {
    const doc = await this.skus.describe(key, details, at);
    if (doc) this.amend(key, (known) => ({ ...known, ...details, updatedAt: at }));
    return doc;
  }

  /** Finishes a SKU just created with its first change in flight (its `initial` movement). */
  created(doc: SkuDoc): Promise<void> {
    return this.adopt(doc);
  }

  /** Decides a batch against `doc`: what is accepted, the figures after it, its events and each request's result. */
  protected async plan(doc: SkuDoc, requests: StockRequest[]): Promise<LedgerPlan<SkuDoc, SkuFigures, StockResult>> {
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
      if (duplicate[index]) return;
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
      if (!decision?.accepted) return;
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

    const results = (written: SkuDoc): StockResult[] =>
      requests.map((_, index) => {
        if (duplicate[index]) return { ok: true, doc: written, duplicate: true };
        const decision = decided.get(index) as Decision;
        if (!decision.accepted) return { ok: false, reason: decision.reason, doc: written };
        return { ok: true, doc: written, order: newOrders.get(index) };
      });
    const changed = accepted.length > 0;
    return { figures: { ...figures, low, updatedAt: changed ? at : doc.updatedAt }, accepted, events, results, changed };
  }

  /** Writes movements and new orders, settles waiting orders, schedules supplier requests: one command each for every SKU. */
  protected async complete(batches: { doc: SkuDoc; changes: Inflight[] }[]): Promise<void> {
    const changes = batches.flatMap((b) => b.changes);
    await this.movements.insertMany(changes.flatMap((c) => c.movements));
    const created = changes.flatMap((c) => (c.newOrder ? [c.newOrder] : []));
    await this.orders.insertMany(created);
    const unstored = await this.orders.applyOutcomes(changes.flatMap((c) => c.outcomes));
    await this.orders.released(changes.flatMap((c) => (c.released ? [c.released] : [])));
    // An order the stock could not serve asks the supplier, durably.
    const toSupplier = created.filter((o) => o.status === 'pending');
    await this.service.jobs.scheduleMany(
      supplierReserve,
      toSupplier.map((o) => ({ id: o._id, tenantId: o.tenantId, dueAt: this.service.clock.now(), payload: { orderId: o._id } })),
    );
    // A crash left a waiting order's creation in flight, and this batch already settled it: the
    // batch stays in flight too, and the sweep finishes both in order (creations come first above).
    if (unstored.length) throw new Error(`settled orders not stored yet: ${unstored.slice(0, 5).join(', ')}`);
  }

  /**
   * Before an order event stored on the SKU is published: an order the SKU settled without its
   * document at hand (a waiting order) is announced as its document now reads, in the state the
   * event announces — after the batch's other half, so the order can be read when it is heard of.
   * If a crash left the order's creation in flight (the relay's sweep can come before the
   * ledger's), the SKU's open changes are finished first, creations before settlements.
   */
  private async prepare(entry: OutboxEntry, doc: SkuDoc): Promise<EventEnvelope> {
    const data = entry.envelope.data as { order?: Order; reason: string | null };
    if (!data.order || data.order.history.length > 0) return entry.envelope;
    let stored = await this.orders.byId(data.order.id);
    if (!stored && doc.inflight.length > 0) {
      await this.finishOpen(doc, doc.inflight).catch((error: unknown) =>
        this.log.warn({ err: error, ledger: doc._id }, 'finishing a SKU batch before its event failed; announced as the SKU knows it'),
      );
      stored = await this.orders.byId(data.order.id);
    }
    if (!stored) return entry.envelope;
    return { ...entry.envelope, data: { ...data, order: { ...toOrder(stored), status: data.order.status } } };
  }
}

const waitingOf = (order: NewOrder): Waiting => ({ orderId: order._id, qty: order.qty, userId: order.userId, createdAt: order.createdAt });

const withStatus = (order: NewOrder, status: OrderStatus, at: string, reason: string | null): NewOrder => ({
  ...order,
  status,
  updatedAt: at,
  history: [...order.history, { status, at, reason }],
});

const orderOf = ({ _id, tenantId: _tenant, ...rest }: NewOrder): Order => ({ id: _id, ...rest, blockedBy: rest.blockedBy ?? null });

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
    blockedBy: null,
    createdAt: waiting.createdAt,
    updatedAt: at,
  };
}
