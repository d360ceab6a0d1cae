import { AppError, type CreateSku, type Sku } from '@allot/contracts';
import { newId } from '@allot/kit';
import type { z } from 'zod';
import type { Inventory } from './context';
import type { StockRequest } from './ledger';
import { type SkuDoc, skuKey, toSku } from './store/skus';

/** SKUs, their initial stock (an `initial` movement), restocks and adjustments. */
export async function createSku(inv: Inventory, tenantId: string, { unitCost, ...input }: z.output<typeof CreateSku>): Promise<Sku> {
  const at = inv.clock.now().toISOString();
  const initial = {
    _id: newId('mv'),
    tenantId,
    sku: input.sku,
    type: 'initial' as const,
    quantity: input.quantity,
    balanceAfter: input.quantity,
    orderId: null,
    reason: null,
    seq: 1,
    ...(unitCost !== undefined ? { unitCost } : {}),
    at,
  };
  const low = input.quantity < input.reorderLevel;
  const doc: SkuDoc = {
    _id: skuKey(tenantId, input.sku),
    tenantId,
    ...input,
    low,
    seq: 1,
    version: 0,
    waiting: [],
    inflight: [{ id: initial._id, at, movements: [initial], outcomes: [] }],
    createdAt: at,
    updatedAt: at,
  };
  const sku = toSku(doc);
  const { _id, tenantId: _t, ...movement } = initial;
  const events = [
    inv.event(tenantId, 'sku.created', { sku }),
    inv.event(tenantId, 'stock.changed', { movement: { id: _id, ...movement } }),
    ...(low
      ? [inv.event(tenantId, 'stock.low_detected', { sku: input.sku, quantity: input.quantity, reorderLevel: input.reorderLevel })]
      : []),
  ];
  if (!(await inv.ledger.skus.create(doc, events))) throw new AppError('conflict', `SKU ${input.sku} already exists`);
  await inv.ledger.created(doc);
  return sku;
}

export async function getSku(inv: Inventory, tenantId: string, sku: string): Promise<Sku> {
  const doc = await inv.ledger.skus.byKey(skuKey(tenantId, sku));
  if (!doc) throw new AppError('not_found', `No SKU ${sku}`);
  return toSku(doc);
}

/** Restock (+) or adjustment (±, never below 0: 409); restocked units serve waiting orders first. */
export async function changeStock(
  inv: Inventory,
  tenantId: string,
  sku: string,
  change: Extract<StockRequest, { kind: 'restock' | 'adjust' }>,
) {
  const result = await inv.ledger.submit(skuKey(tenantId, sku), change).catch((error) => {
    throw error instanceof AppError && error.code === 'unknown_sku' ? new AppError('not_found', `No SKU ${sku}`) : error;
  });
  if (!result.ok)
    throw new AppError('conflict', `Stock of ${sku} would fall below 0 (${result.doc.quantity} left)`, { quantity: result.doc.quantity });
  return toSku(result.doc);
}
