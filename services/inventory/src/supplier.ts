import type { SupplierWebhook } from '@allot/contracts';
import { AppError } from '@allot/contracts';
import type { z } from 'zod';
import type { Inventory } from './context';
import { isFinal } from './domain/transitions';
import { supplierCheck } from './job-kinds';
import { settle } from './orders';
import type { OrderDoc } from './store/orders';

/**
 * The supplier workflow (services/inventory/README.md), one durable job per step: ask the supplier to reserve, then
 * check the reservation's status after a delay, again while it answers `delayed`, at most
 * `SUPPLIER_MAX_DELAYED_RECHECKS` times. Each step first re-reads the order and does nothing if
 * it has moved on, so a step run twice (a crash after the work) or racing a webhook, a restock
 * or a cancel changes nothing twice. Supplier errors throw, and the jobs retry them with backoff;
 * `last` is the final attempt, after which the order fails (`supplier_unavailable`) and the job
 * is dead-lettered.
 */
export async function requestReservation(inv: Inventory, orderId: string, last: boolean): Promise<void> {
  const doc = await inv.orders.byId(orderId);
  // Moved on before a crash could schedule its first check: schedule it (scheduling is idempotent).
  if (doc?.status === 'awaiting_restock') return scheduleCheck(inv, doc, 1);
  if (doc?.status !== 'pending') return;
  const reply = await failOnLastAttempt(inv, doc, last, () => inv.supplier.reserve(doc.sku, doc.qty, doc._id));
  if (!reply.accepted || !reply.ref) {
    await settle(inv, doc, { kind: 'settle', orderId, to: 'failed', reason: 'supplier_rejected' });
    return;
  }
  await inv.orders.listSupplierRef(doc._id, reply.ref);
  const at = inv.clock.now().toISOString();
  const event = (order: Parameters<Parameters<typeof inv.orders.transition>[4]>[0]) =>
    inv.event(doc.tenantId, 'order.awaiting_restock', { order, reason: null });
  const moved = await inv.orders.transition(doc, 'awaiting_restock', at, null, event, { supplierRef: reply.ref });
  inv.log.info({ tenantId: doc.tenantId, orderId, from: 'pending', to: 'awaiting_restock', applied: Boolean(moved) }, 'order transition');
  if (moved) await scheduleCheck(inv, moved, 1);
}

/** Status check number `check` (1 is the first, the rest are re-checks). */
export async function checkReservation(inv: Inventory, orderId: string, check: number, last: boolean): Promise<void> {
  const doc = await inv.orders.byId(orderId);
  if (doc?.status !== 'awaiting_restock' || doc.supplierChecks >= check || !doc.supplierRef) return;
  const ref = doc.supplierRef;
  const { status } = await failOnLastAttempt(inv, doc, last, () => inv.supplier.status(ref), check);
  const base = { kind: 'settle', orderId, supplierChecks: check } as const;
  if (status === 'ok') await settle(inv, doc, { ...base, to: 'reserved', reason: null });
  else if (status === 'fail') await settle(inv, doc, { ...base, to: 'failed', reason: 'supplier_failed' });
  else if (check > inv.config.SUPPLIER_MAX_DELAYED_RECHECKS) await settle(inv, doc, { ...base, to: 'failed', reason: 'supplier_delayed' });
  else {
    // The next check is scheduled before this one is recorded, so a crash in between repeats a call, never loses one.
    await scheduleCheck(inv, doc, check + 1);
    await inv.orders.recordCheck(orderId, check, inv.clock.now().toISOString());
  }
}

/** A signed supplier callback: the same transition as a status check, at once; a final order is left as it is. */
export async function applyWebhook(inv: Inventory, { ref, status }: z.output<typeof SupplierWebhook>) {
  const doc = await inv.orders.bySupplierRef(ref);
  if (!doc) throw new AppError('not_found', `No order with supplier reference ${ref}`);
  if (isFinal(doc.status)) return { received: true as const, applied: false };
  const to = status === 'ok' ? 'reserved' : 'failed';
  const applied = await settle(inv, doc, { kind: 'settle', orderId: doc._id, to, reason: status === 'ok' ? null : 'supplier_failed' });
  return { received: true as const, applied };
}

function scheduleCheck(inv: Inventory, doc: OrderDoc, check: number): Promise<void> {
  const dueAt = new Date(inv.clock.now().getTime() + inv.config.SUPPLIER_CHECK_DELAY_MS);
  return inv.jobs.schedule(supplierCheck, {
    id: `${doc._id}-${check}`,
    tenantId: doc.tenantId,
    dueAt,
    payload: { orderId: doc._id, check },
  });
}

async function failOnLastAttempt<T>(inv: Inventory, doc: OrderDoc, last: boolean, call: () => Promise<T>, check?: number): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (last) {
      const failed = { kind: 'settle', orderId: doc._id, to: 'failed', reason: 'supplier_unavailable' } as const;
      await settle(inv, doc, check === undefined ? failed : { ...failed, supplierChecks: check - 1 });
    }
    throw error; // retried with backoff; after the last attempt, dead-lettered
  }
}
