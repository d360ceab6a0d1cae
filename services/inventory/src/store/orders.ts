import type { EventEnvelope, Order, OrderStatus } from '@allot/contracts';
import { bulkWriteInParts, findEachById, IdLists, type OutboxCollection, onlyDuplicateKeys } from '@allot/kit';
import type { AnyBulkWriteOperation, Filter, IndexDescription } from 'mongodb';
import { openStatuses } from '../domain/limits';
import { finalStatuses, isFinal, sourcesOf, waitingStatuses } from '../domain/transitions';

export interface OrderDoc {
  _id: string;
  tenantId: string;
  sku: string;
  qty: number;
  userId: string | null;
  status: OrderStatus;
  supplierRef: string | null;
  supplierChecks: number;
  history: Order['history'];
  /** Cancelled while reserved, and its stock not yet back on the SKU (the sweep finishes it). */
  releasing?: boolean;
  /** The dead letter of a workflow step that gave up, while the order has not moved on since. */
  blockedBy?: Order['blockedBy'];
  createdAt: string;
  updatedAt: string;
}

/** An order as the SKU's batch decided it, before it is written. */
export type NewOrder = Omit<OrderDoc, 'releasing'>;

/** A waiting order's end as the SKU decided it, to be written on the order. */
export interface OrderOutcomeDoc {
  orderId: string;
  status: OrderStatus;
  reason: string | null;
  at: string;
  /** The supplier status checks made, when the outcome came from one. */
  supplierChecks?: number;
}

export const orderIndexes: IndexDescription[] = [
  { key: { tenantId: 1, status: 1 } },
  { key: { tenantId: 1, userId: 1, status: 1 } },
  { key: { supplierRef: 1 } },
  { key: { releasing: 1 } },
];

/** An order as clients see it: the stored document without its tenant, marks and outbox. */
export function toOrder(doc: OrderDoc): Order {
  const { _id, tenantId: _tenant, releasing: _releasing, outbox: _outbox, ...order } = doc as OrderDoc & { outbox?: unknown };
  return { id: _id, ...order, blockedBy: doc.blockedBy ?? null };
}

export interface OrderFilter {
  status?: OrderStatus;
  sku?: string;
  userId?: string;
}

/** The list a user's orders are on (`IdLists`), which the open-orders limit counts. */
const openList = (tenantId: string, userId: string) => IdLists.key('open', tenantId, userId);
/** The order a supplier reference was given for, listed under the reference. */
const refList = (ref: string) => IdLists.key('supplier-ref', ref);
/** The mark `listExisting` leaves once the orders stored before the lists are listed. */
const LISTED_EXISTING = 'listed-existing';

/** Orders: each change is one update guarded by the transition table's `from` states. */
export class OrderStore {
  constructor(
    readonly docs: OutboxCollection<OrderDoc>,
    /** Each user's orders (`openOrdersOf`) and the order of each supplier reference (`bySupplierRef`). */
    private readonly lists: IdLists,
  ) {}

  get(tenantId: string, id: string): Promise<OrderDoc | null> {
    return this.docs.findOne({ _id: id, tenantId });
  }

  byId(id: string): Promise<OrderDoc | null> {
    return this.docs.findOne({ _id: id });
  }

  /** The order a supplier reference was given for: listed under it before it is stored on the order (`listSupplierRef`). */
  async bySupplierRef(ref: string): Promise<OrderDoc | null> {
    const [order] = await this.lists.counted(
      refList(ref),
      (ids) => findEachById(this.docs, ids),
      (o) => o.supplierRef === ref,
      () => false,
    );
    if (order) return order;
    // Until the orders stored before the lists are listed (an upgrade's first seconds), an older
    // order is found by the reference itself (a scan on FerretDB, never after that).
    return (await this.lists.filled(LISTED_EXISTING)) ? null : this.docs.findOne({ supplierRef: ref });
  }

  /** Lists an order under the reference its supplier gave, before the order stores it. */
  listSupplierRef(orderId: string, ref: string): Promise<void> {
    return this.lists.add([{ key: refList(ref), id: orderId }]);
  }

  /** A page of orders, newest first (ids sort by creation); the cursor is the last id shown. */
  list(tenantId: string, filter: OrderFilter, limit: number, cursor?: string): Promise<OrderDoc[]> {
    const query: Filter<OrderDoc> = { tenantId };
    if (filter.status) query.status = filter.status;
    if (filter.sku) query.sku = filter.sku;
    if (filter.userId) query.userId = filter.userId;
    if (cursor) query._id = { $lt: cursor };
    return this.docs.find(query).sort({ _id: -1 }).limit(limit).toArray();
  }

  /** How many open orders a user has: the listed ones, each read by `_id` (an order never reopens). */
  async openOrdersOf(tenantId: string, userId: string): Promise<number> {
    if (!(await this.lists.filled(LISTED_EXISTING)))
      return this.docs.raw.countDocuments({ tenantId, userId, status: { $in: [...openStatuses] } });
    const open = await this.lists.counted(
      openList(tenantId, userId),
      (ids) => findEachById(this.docs, ids, { tenantId }),
      (o) => o.userId === userId && !isFinal(o.status),
    );
    return open.length;
  }

  /** Lists the users' open orders and the supplier references stored before the lists existed (an upgrade), once. */
  listExisting(): Promise<void> {
    const docs = this.docs.raw.find(
      { $or: [{ userId: { $ne: null }, status: { $in: openStatuses } }, { supplierRef: { $ne: null } }] },
      { projection: { tenantId: 1, userId: 1, status: 1, supplierRef: 1 } },
    );
    return this.lists.fillOnce(LISTED_EXISTING, async function* () {
      for await (const o of docs) {
        if (o.userId && !isFinal(o.status)) yield { key: openList(o.tenantId, o.userId), id: o._id };
        if (o.supplierRef) yield { key: refList(o.supplierRef), id: o._id };
      }
    });
  }

  /** Writes new orders with one command; an order already written (a retry, the sweep) stays. */
  async insertMany(orders: NewOrder[]): Promise<void> {
    if (orders.length === 0) return;
    // Listed before they can be seen; every new order is open.
    await this.lists.add(orders.flatMap((o) => (o.userId ? [{ key: openList(o.tenantId, o.userId), id: o._id }] : [])));
    try {
      await this.docs.raw.insertMany(
        orders.map((o) => ({ ...o, outbox: [] })),
        { ordered: false },
      );
    } catch (error) {
      if (!onlyDuplicateKeys(error)) throw error;
    }
  }

  /**
   * Writes what the SKU decided for waiting orders; an order already past it is left alone.
   * Returns the orders not stored yet (their creation is still in flight after a crash).
   */
  async applyOutcomes(outcomes: OrderOutcomeDoc[]): Promise<string[]> {
    if (outcomes.length === 0) return [];
    const ops: AnyBulkWriteOperation<OrderDoc>[] = outcomes.map(({ orderId, status, reason, at, supplierChecks }) => ({
      updateOne: {
        filter: { _id: orderId, status: { $in: sourcesOf(status).filter((s) => waitingStatuses.includes(s)) } },
        update: {
          $set: { status, updatedAt: at, ...(supplierChecks === undefined ? {} : { supplierChecks }) },
          $push: { history: { status, at, reason } },
          $unset: { blockedBy: '' },
        },
      },
    }));
    const { matchedCount } = await bulkWriteInParts(this.docs.raw, ops);
    if (matchedCount === outcomes.length) return [];
    // Some matched nothing: stored and already past it, or not stored. One read by `_id` each
    // (the repair sweep repeats finished outcomes, and FerretDB reads the whole collection for
    // `_id: {$in: …}`, where it finds one `_id` by its index).
    const ids = outcomes.map((o) => o.orderId);
    const stored = await Promise.all(ids.map((_id) => this.docs.raw.findOne({ _id }, { projection: { _id: 1 } })));
    return ids.filter((_, i) => !stored[i]);
  }

  /**
   * Moves an order read as `current` to `to`, with the event announcing it, in one update
   * guarded by the state it was read in (which the caller checked against the table); null when
   * someone else moved it first.
   */
  transition(
    current: OrderDoc,
    to: OrderStatus,
    at: string,
    reason: string | null,
    event: (order: Order) => EventEnvelope,
    extra: Partial<Pick<OrderDoc, 'supplierRef' | 'releasing'>> = {},
  ): Promise<OrderDoc | null> {
    const entry = { status: to, at, reason };
    const after = { ...current, ...extra, status: to, updatedAt: at, history: [...current.history, entry], blockedBy: undefined };
    return this.docs.update(
      { _id: current._id, status: current.status },
      { $set: { status: to, updatedAt: at, ...extra }, $push: { history: entry }, $unset: { blockedBy: '' } },
      [event(toOrder(after))],
    );
  }

  /** Records a status check that answered `delayed` (checks only ever grow). */
  recordCheck(id: string, check: number, at: string): Promise<OrderDoc | null> {
    return this.docs.update(
      { _id: id, status: 'awaiting_restock', supplierChecks: { $lt: check } },
      { $set: { supplierChecks: check, updatedAt: at }, $unset: { blockedBy: '' } },
    );
  }

  /** Names the dead letter a waiting order's next step went to; a final order is left as it is. */
  async block(id: string, blockedBy: NonNullable<Order['blockedBy']>): Promise<void> {
    await this.docs.raw.updateOne({ _id: id, status: { $nin: finalStatuses } }, { $set: { blockedBy } });
  }

  /** Orders cancelled before `before` whose stock did not come back yet (a crash; the sweep finishes them). */
  releasingSince(before: string, limit: number): Promise<OrderDoc[]> {
    return this.docs
      .find({ releasing: true, updatedAt: { $lt: before } })
      .limit(limit)
      .toArray();
  }

  /** Orders still marked `releasing`, of these. */
  async releasing(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const docs = await findEachById(this.docs, ids, { releasing: true }, { projection: { _id: 1 } });
    return new Set(docs.map((d) => d._id));
  }

  /** Clears the `releasing` mark once the stock is back on the SKU. */
  async released(ids: string[]): Promise<void> {
    const ops = ids.map((_id) => ({ updateOne: { filter: { _id }, update: { $unset: { releasing: '' as const } } } }));
    if (ops.length) await bulkWriteInParts(this.docs.raw, ops);
  }

  /** Which of these orders exist (a retried create under an idempotency key). */
  async existing(ids: string[]): Promise<OrderDoc[]> {
    return findEachById(this.docs, ids);
  }
}
