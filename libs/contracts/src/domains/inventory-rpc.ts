import { z } from 'zod';
import { Id, Pagination, page } from '../primitives';
import { platformRpc, rpc } from '../rpc';
import { importRpc } from './imports';
import { Movement, Order, OrderStatus, Sku, SkuCode, UnitCost } from './inventory';
import { reportRpc } from './reports';

/** HTTP request bodies and queries of the inventory API (the gateway validates with these, the service again). */
const Quantity = z.number().int().min(0).max(1_000_000_000);
const Reason = z.string().trim().min(1).max(500);

export const CreateSku = z.strictObject({
  sku: SkuCode,
  name: z.string().trim().min(1).max(200),
  quantity: Quantity,
  reorderLevel: Quantity.default(0),
  /** What one unit of the initial stock cost (kept on its `initial` movement; stock is valued FIFO from these). */
  unitCost: UnitCost.optional(),
});

export const Restock = z.strictObject({
  quantity: z.number().int().min(1).max(1_000_000_000),
  reason: Reason.optional(),
  /** What one unit of this delivery cost: the stock valuation report values stock FIFO from these. */
  unitCost: UnitCost.optional(),
});
export const Adjust = z.strictObject({
  delta: z
    .number()
    .int()
    .min(-1_000_000_000)
    .max(1_000_000_000)
    .refine((d) => d !== 0, 'must not be 0'),
  reason: Reason,
});

export const CreateOrder = z.strictObject({ sku: SkuCode, qty: z.number().int().min(1).max(10000) });
export const ListOrders = Pagination.extend({ status: OrderStatus.optional(), sku: SkuCode.optional() }).strict();
export const SkuRef = z.object({ sku: SkuCode });

/** What the supplier tells us by webhook (docs/api.md, the supplier's callback); the gateway checks its signature first. */
export const SupplierWebhook = z.strictObject({ ref: z.string().min(1).max(200), status: z.enum(['ok', 'fail']) });
export const WebhookReceipt = z.object({ received: z.literal(true), applied: z.boolean() });

/**
 * A tenant's limits on orders: how many open orders (not yet fulfilled, failed or cancelled) one
 * user token may have. Each order that stock cannot cover asks the real supplier for stock.
 */
export const OrderLimits = z.object({ maxOpenOrdersPerUser: z.number().int().min(1).max(1_000_000) });
export type OrderLimits = z.infer<typeof OrderLimits>;
export const UpdateOrderLimits = OrderLimits.partial().strict();

export const inventoryRpc = {
  'sku.create': rpc('Create a SKU with its initial stock', CreateSku, Sku),
  'sku.list': rpc('List SKUs', Pagination.strict(), page(Sku)),
  'sku.get': rpc('Get a SKU', SkuRef, Sku),
  'sku.restock': rpc('Add stock (waiting orders are served first, oldest first)', SkuRef.extend(Restock.shape), Sku),
  'sku.adjust': rpc('Correct stock by a signed delta (never below 0)', SkuRef.extend(Adjust.shape), Sku),
  'order.create': rpc('Order units of a SKU (answered pending; reserved asynchronously)', CreateOrder, Order),
  'order.get': rpc('Get an order', z.object({ id: Id }), Order),
  'order.list': rpc('List orders (a user sees its own)', ListOrders, page(Order)),
  'order.cancel': rpc('Cancel an order; reserved stock is released', z.object({ id: Id }), Order),
  'order.fulfil': rpc('Fulfil a reserved order', z.object({ id: Id }), Order),
  'movement.list': rpc("A SKU's stock movements, oldest first", SkuRef.extend(Pagination.shape), page(Movement)),
  'limits.get': rpc("The tenant's limits on orders", z.object({}).strict(), OrderLimits),
  'limits.set': rpc("Change the tenant's limits on orders", UpdateOrderLimits, OrderLimits),
  'supplier.webhook': platformRpc('Apply a supplier status callback (signature already checked)', SupplierWebhook, WebhookReceipt),
  ...importRpc,
  ...reportRpc,
};
export type InventoryRpc = typeof inventoryRpc;
