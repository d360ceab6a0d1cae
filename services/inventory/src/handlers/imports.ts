import type { InventoryRpc } from '@allot/contracts';
import { type Handlers, importHandlers } from '@allot/kit';
import type { Inventory } from '../context';

/** Bulk imports of SKUs. */
export const importOperations = (inv: Inventory) =>
  importHandlers(inv.imports, inv.requestIds, 'inventory') satisfies Partial<Handlers<InventoryRpc>>;
