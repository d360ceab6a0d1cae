import type { InventoryRpc } from '@allot/contracts';
import { type Handlers, reportHandlers } from '@allot/kit';
import type { Inventory } from '../context';

/** Reports of orders, stock movements and stock valuation. */
export const reportOperations = (inv: Inventory) => reportHandlers(inv.reports, inv.requestIds) satisfies Partial<Handlers<InventoryRpc>>;
