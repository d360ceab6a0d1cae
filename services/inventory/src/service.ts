import { inventoryRpc } from '@allot/contracts';
import { defineService, every, importIndexes, reportIndexes, reportJobs } from '@allot/kit';
import { inventoryEnv } from './config';
import { inventoryContext } from './context';
import { importOperations } from './handlers/imports';
import { orderHandlers } from './handlers/orders';
import { reportOperations } from './handlers/reports';
import { skuHandlers } from './handlers/skus';
import { reportJob } from './job-kinds';
import { importJobs } from './jobs/imports';
import { repairSweep } from './jobs/repair-sweep';
import { supplierJobs } from './jobs/supplier-jobs';
import { movementIndexes } from './store/movements';
import { orderIndexes } from './store/orders';
import { reportRowIndexes } from './store/report-rows';
import { skuIndexes } from './store/skus';

/** The inventory service (its README.md): SKUs, stock ledgers, orders, the supplier workflow, the movements ledger. */
export const inventoryService = defineService({
  name: 'inventory',
  env: inventoryEnv,
  indexes: {
    skus: skuIndexes,
    orders: [...orderIndexes, ...reportRowIndexes.orders],
    movements: [...movementIndexes, ...reportRowIndexes.movements],
    ...importIndexes,
    ...reportIndexes,
  },
  rpc: inventoryRpc,
  context: inventoryContext,
  handlers: (inv) => ({ ...skuHandlers(inv), ...orderHandlers(inv), ...reportOperations(inv), ...importOperations(inv) }),
  jobs: (inv) => [...supplierJobs(inv), reportJobs(reportJob, inv.reports), importJobs(inv.imports)],
  tasks: (inv) => [
    repairSweep(inv),
    // Once after an upgrade; then one read by `_id` per turn.
    every(5_000, 'list-orders', () => inv.orders.listExisting()),
    every(10_000, 'report-sweep', () => inv.reports.purge()),
    every(3_600_000, 'import-purge', () => inv.imports.purge()),
  ],
});

/** Starts the inventory service with this environment (tests; `main.ts` runs it as a process). */
export const startInventory = inventoryService.start;
