import { AppError, SkuRow } from '@allot/contracts';
import type { ImportRowKind } from '@allot/kit';
import type { Inventory } from './context';
import { changeStock, createSku } from './skus';
import { type SkuDoc, skuKey } from './store/skus';

/**
 * The `skus` rows of an import, upserted by the SKU's code. A new SKU starts with the row's
 * quantity as its `initial` movement; an existing one is brought to the row's values — a
 * different quantity by a movement (a restock up, at the row's unit cost; an adjustment down),
 * so the movements still add up to the stock, and its name or reorder level in place. A row
 * applied again (after a crash, or the same file again) finds the SKU already as it says and
 * changes nothing.
 */
export const skuRows = (inv: Inventory): ImportRowKind<SkuRow> => ({
  schema: SkuRow,
  keyOf: (row) => row.sku,
  async classify(tenantId, row) {
    const doc = await inv.ledger.skus.byKey(skuKey(tenantId, row.sku));
    if (!doc) return 'created';
    return skuChanges(doc, row) ? 'updated' : 'unchanged';
  },
  async apply(tenantId, row) {
    const key = skuKey(tenantId, row.sku);
    let doc = await inv.ledger.skus.byKey(key);
    if (!doc) {
      const input = {
        sku: row.sku,
        name: row.name,
        quantity: row.quantity ?? 0,
        reorderLevel: row.reorderLevel ?? 0,
        unitCost: row.unitCost,
      };
      const created = await createSku(inv, tenantId, input).catch((error: unknown) => {
        // Created meanwhile (this row applied before a crash, or another writer): brought to the row's values below.
        if (error instanceof AppError && error.code === 'conflict') return null;
        throw error;
      });
      if (created) return;
      doc = await inv.ledger.skus.byKey(key);
      if (!doc) return;
    }
    const change = skuChanges(doc, row);
    if (!change) return;
    if (change.details) await inv.ledger.describe(key, change.details, inv.clock.now().toISOString());
    if (change.delta > 0)
      await changeStock(inv, tenantId, row.sku, {
        kind: 'restock',
        quantity: change.delta,
        reason: 'import',
        unitCost: row.unitCost ?? null,
      });
    if (change.delta < 0)
      await changeStock(inv, tenantId, row.sku, { kind: 'adjust', delta: change.delta, reason: 'import' }).catch(
        asRowError('quantity', row.quantity),
      );
  },
});

/** What a row would change of a SKU (undefined: nothing): its stock by `delta`, its name or reorder level. */
function skuChanges(doc: SkuDoc, row: SkuRow) {
  const details: { name?: string; reorderLevel?: number } = {};
  if (row.name !== doc.name) details.name = row.name;
  if (row.reorderLevel !== undefined && row.reorderLevel !== doc.reorderLevel) details.reorderLevel = row.reorderLevel;
  const delta = row.quantity === undefined ? 0 : row.quantity - doc.quantity;
  const described = Object.keys(details).length > 0;
  if (!described && delta === 0) return undefined;
  return { details: described ? details : undefined, delta };
}

/** A refusal of the domain, named by the row's field and value. */
const asRowError = (field: string, value: unknown) => (error: unknown) => {
  if (error instanceof AppError && error.status < 500) throw new AppError(error.code, error.message, { field, value });
  throw error;
};
