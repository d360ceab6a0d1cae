import { z } from 'zod';
import { event } from '../envelope';
import { Id, Timestamp, UserId } from '../primitives';
import { ImportUpdated } from './imports';
import { ReportUpdated } from './reports';

export const SkuCode = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1..64 of A-Z a-z 0-9 . _ -');

export const Sku = z.object({
  sku: SkuCode,
  name: z.string().min(1).max(200),
  quantity: z.number().int().min(0),
  reorderLevel: z.number().int().min(0),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Sku = z.infer<typeof Sku>;

export const OrderStatus = z.enum(['pending', 'reserved', 'awaiting_restock', 'fulfilled', 'failed', 'cancelled']);
export type OrderStatus = z.infer<typeof OrderStatus>;
export const OrderFailureReason = z.enum(['supplier_rejected', 'supplier_unavailable', 'supplier_failed', 'supplier_delayed']);

export const Order = z.object({
  id: Id,
  sku: SkuCode,
  qty: z.number().int().min(1).max(10000),
  userId: UserId.nullable(),
  status: OrderStatus,
  supplierRef: z.string().nullable(),
  supplierChecks: z.number().int().min(0),
  history: z.array(z.object({ status: OrderStatus, at: Timestamp, reason: z.string().nullable() })),
  /**
   * A step of the order's workflow ran out of attempts: the dead letter it waits on (retry or
   * delete it with the dead-letter API). Cleared when the order moves on.
   */
  blockedBy: z.object({ deadLetterId: z.string(), error: z.string(), at: Timestamp }).nullable().default(null),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Order = z.infer<typeof Order>;

/** A unit cost, in the tenant's own currency. */
export const UnitCost = z.number().min(0).max(1_000_000_000);

export const MovementType = z.enum(['initial', 'reserve', 'release', 'restock', 'adjust']);
export const Movement = z.object({
  id: Id,
  sku: SkuCode,
  type: MovementType,
  quantity: z.number().int(),
  balanceAfter: z.number().int().min(0),
  orderId: Id.nullable(),
  reason: z.string().nullable(),
  /** What one unit of a restock (or the initial stock) cost, when it was given: stock is valued FIFO from these. */
  unitCost: z.number().min(0).nullable().optional(),
  at: Timestamp,
});
export type Movement = z.infer<typeof Movement>;

const orderChange = z.object({ order: Order, reason: z.string().nullable() });

export const inventoryEvents = {
  'report.updated': event('A report changed status or progressed (docs/api.md, Reports)', ReportUpdated),
  'import.updated': event('A bulk import of SKUs changed status or progressed (a batch of rows was counted)', ImportUpdated),
  'sku.created': event('A SKU was created with its initial stock', z.object({ sku: Sku })),
  'stock.changed': event('Stock of a SKU moved (one ledger movement)', z.object({ movement: Movement })),
  'stock.low_detected': event(
    'Stock fell below the reorder level (once per crossing)',
    z.object({ sku: SkuCode, quantity: z.number().int(), reorderLevel: z.number().int() }),
  ),
  'order.created': event('An order was accepted (pending)', orderChange),
  'order.reserved': event('Stock is reserved for an order', orderChange),
  'order.awaiting_restock': event('The supplier accepted a reservation; delivery pending', orderChange),
  'order.failed': event('An order failed', orderChange),
  'order.cancelled': event('An order was cancelled', orderChange),
  'order.fulfilled': event('An order was fulfilled', orderChange),
};
