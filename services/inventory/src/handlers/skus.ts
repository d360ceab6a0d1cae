import type { InventoryRpc } from '@allot/contracts';
import type { Handlers } from '@allot/kit';
import type { Inventory } from '../context';
import { changeStock, createSku, getSku } from '../skus';
import { toMovement } from '../store/movements';
import { toSku } from '../store/skus';

/** SKUs, stock changes and the movements ledger. */
export const skuHandlers = (inv: Inventory) =>
  ({
    'sku.create': (input, { tenantId }) => createSku(inv, tenantId, input),
    'sku.list': async ({ limit, cursor }, { tenantId }) => {
      const docs = await inv.ledger.skus.list(tenantId, limit + 1, cursor);
      const items = docs.slice(0, limit).map(toSku);
      return { items, nextCursor: docs.length > limit ? (items.at(-1)?.sku ?? null) : null };
    },
    'sku.get': ({ sku }, { tenantId }) => getSku(inv, tenantId, sku),
    'sku.restock': ({ sku, quantity, reason, unitCost }, { tenantId }) =>
      changeStock(inv, tenantId, sku, { kind: 'restock', quantity, reason: reason ?? null, unitCost: unitCost ?? null }),
    'sku.adjust': ({ sku, delta, reason }, { tenantId }) => changeStock(inv, tenantId, sku, { kind: 'adjust', delta, reason }),
    'movement.list': async ({ sku, limit, cursor }, { tenantId }) => {
      await getSku(inv, tenantId, sku); // another tenant's SKU is 404
      const docs = await inv.movements.list(tenantId, sku, limit + 1, cursor);
      const items = docs.slice(0, limit);
      return { items: items.map(toMovement), nextCursor: docs.length > limit ? String(items.at(-1)?.seq) : null };
    },
  }) satisfies Partial<Handlers<InventoryRpc>>;
