import { every } from '@allot/kit';
import type { Inventory } from '../context';
import { release } from '../orders';

/**
 * The backstop after a crash: finishes SKU changes left half done (movements, new orders and
 * their supplier requests, settled waiting orders) and gives back the stock of cancelled orders
 * still marked `releasing`; forgets idempotency keys past their window.
 */
export const repairSweep = (inv: Inventory) =>
  every(Math.min(inv.config.REPAIR_AFTER_MS, 5000), 'repair-sweep', async () => {
    await inv.ledger.finishStale(inv.config.REPAIR_AFTER_MS);
    const before = new Date(inv.clock.now().getTime() - inv.config.REPAIR_AFTER_MS).toISOString();
    for (const doc of await inv.orders.releasingSince(before, 200)) await release(inv, doc);
    await inv.requestIds.purge(inv.clock.now());
  });
