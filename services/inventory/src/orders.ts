import { type Actor, AppError, type Order, type OrderStatus } from '@allot/contracts';
import { lazyInstruments, newId } from '@allot/kit';
import type { Inventory } from './context';
import { checkOpenOrders } from './domain/limits';
import { canMove, isFinal, waitingStatuses } from './domain/transitions';
import type { StockRequest } from './ledger';
import { type NewOrder, type OrderDoc, toOrder } from './store/orders';
import { skuKey } from './store/skus';

/** Orders by final status, a metric. */
const metrics = lazyInstruments((meter) => ({
  finals: meter.createCounter('allot_orders_final_total', { description: 'Orders that reached a final status, by status and reason' }),
}));
export const countFinal = (status: OrderStatus, reason: string | null) => {
  if (isFinal(status)) metrics().finals.add(1, { status, reason: reason ?? 'none' });
};

/**
 * A new order: accepted and decided in one write of its SKU — reserved at once if the
 * stock is there, else pending while the supplier is asked (a durable job). The answer is the
 * order as accepted (`pending`); a retry under the same idempotency key returns the same order.
 */
export async function createOrder(
  inv: Inventory,
  tenantId: string,
  actor: Actor,
  input: { sku: string; qty: number },
  idempotencyKey?: string,
): Promise<Order> {
  const id = await inv.requestIds.idFor(idempotencyKey, () => newId('ord'));
  if (actor.kind === 'user') await checkOrderLimit(inv, tenantId, actor.userId, id);
  const at = inv.clock.now().toISOString();
  const order: NewOrder = {
    _id: id,
    tenantId,
    sku: input.sku,
    qty: input.qty,
    userId: actor.kind === 'user' ? actor.userId : null,
    status: 'pending',
    supplierRef: null,
    supplierChecks: 0,
    history: [{ status: 'pending', at, reason: null }],
    createdAt: at,
    updatedAt: at,
  };
  const result = await inv.ledger.submit(skuKey(tenantId, input.sku), { kind: 'order', order, reused: idempotencyKey !== undefined });
  if (result.ok && result.duplicate) return visibleOrder(inv, tenantId, actor, id);
  if (result.ok && result.order) countFinal(result.order.status, null);
  return toOrder(order);
}

/**
 * A user token's open orders are limited (a retry of an order already made is not refused).
 * Checked before the order is written, so two racing orders of one user may pass it by one.
 */
async function checkOrderLimit(inv: Inventory, tenantId: string, userId: string, id: string): Promise<void> {
  if (await inv.orders.get(tenantId, id)) return;
  checkOpenOrders(await inv.limits.get(tenantId), await inv.orders.openOrdersOf(tenantId, userId));
}

/** An order the actor may see: another tenant's, or another user's, is 404. */
export async function visibleOrder(inv: Inventory, tenantId: string, actor: Actor, id: string): Promise<Order> {
  return toOrder(await visibleDoc(inv, tenantId, actor, id));
}

async function visibleDoc(inv: Inventory, tenantId: string, actor: Actor, id: string): Promise<OrderDoc> {
  const doc = await inv.orders.get(tenantId, id);
  if (!doc || (actor.kind === 'user' && doc.userId !== actor.userId)) throw new AppError('not_found', `No order ${id}`);
  return doc;
}

const invalidState = (doc: OrderDoc, to: OrderStatus) =>
  new AppError('invalid_state', `Order ${doc._id} is ${doc.status}; it cannot become ${to}`, { status: doc.status });

/** How often a cancel re-reads an order whose state is being written by its SKU's batch. */
const CANCEL_ATTEMPTS = 10;

/**
 * Cancels an order. A waiting one is taken off its SKU's line (whoever takes it off first —
 * the supplier, a restock, this cancel — decides how it ends); a reserved one is marked cancelled
 * and `releasing` in one guarded update, then its stock comes back with a `release` movement.
 */
export async function cancelOrder(inv: Inventory, tenantId: string, actor: Actor, id: string): Promise<Order> {
  for (let attempt = 0; attempt < CANCEL_ATTEMPTS; attempt++) {
    const doc = await visibleDoc(inv, tenantId, actor, id);
    if (!canMove(doc.status, 'cancelled')) throw invalidState(doc, 'cancelled');
    if (doc.status === 'reserved') {
      const at = inv.clock.now().toISOString();
      const cancelled = await inv.orders.transition(
        doc,
        'cancelled',
        at,
        null,
        (order) => inv.event(tenantId, 'order.cancelled', { order, reason: null }),
        {
          releasing: true,
        },
      );
      if (!cancelled) continue; // fulfilled or cancelled meanwhile: read again
      countFinal('cancelled', null);
      await release(inv, cancelled);
      return toOrder(cancelled);
    }
    const settled = await settle(inv, doc, { kind: 'settle', orderId: id, to: 'cancelled', reason: null });
    if (settled) return visibleOrder(inv, tenantId, actor, id);
    // Its SKU settled it first; its document catches up in a moment.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new AppError('conflict', `Order ${id} is changing; try again`);
}

/** Gives a cancelled order's stock back (once: the SKU checks the order's `releasing` mark). */
export async function release(inv: Inventory, doc: OrderDoc): Promise<void> {
  await inv.ledger.submit(skuKey(doc.tenantId, doc.sku), { kind: 'release', orderId: doc._id, qty: doc.qty });
}

/** Ends a waiting order through its SKU; false if it was no longer waiting there. */
export async function settle(inv: Inventory, doc: OrderDoc, request: Extract<StockRequest, { kind: 'settle' }>): Promise<boolean> {
  if (!waitingStatuses.includes(doc.status)) return false;
  const result = await inv.ledger.submit(skuKey(doc.tenantId, doc.sku), request);
  if (result.ok) countFinal(request.to, request.reason);
  inv.log.info(
    { tenantId: doc.tenantId, orderId: doc._id, from: doc.status, to: request.to, reason: request.reason, applied: result.ok },
    'order settle',
  );
  return result.ok;
}

/** Reserved → fulfilled (an API key only). */
export async function fulfilOrder(inv: Inventory, tenantId: string, actor: Actor, id: string): Promise<Order> {
  if (actor.kind === 'user') throw new AppError('forbidden', 'Only an API key may fulfil orders');
  const doc = await visibleDoc(inv, tenantId, actor, id);
  if (!canMove(doc.status, 'fulfilled')) throw invalidState(doc, 'fulfilled');
  const at = inv.clock.now().toISOString();
  const fulfilled = await inv.orders.transition(doc, 'fulfilled', at, null, (order) =>
    inv.event(tenantId, 'order.fulfilled', { order, reason: null }),
  );
  if (!fulfilled) throw invalidState((await inv.orders.get(tenantId, id)) ?? doc, 'fulfilled');
  countFinal('fulfilled', null);
  return toOrder(fulfilled);
}
