import type { OrderLimits } from '@allot/contracts';
import {
  type Clock,
  IdLists,
  type ImportDoc,
  Imports,
  importLimitsOf,
  type Logger,
  type ReportDoc,
  Reports,
  reportLimitsOf,
  TenantLimits,
} from '@allot/kit';
import type { InventoryConfig, InventoryService } from './config';
import { defaultOrderLimits } from './domain/limits';
import { skuRows } from './imports';
import { importSlice, reportJob } from './job-kinds';
import { StockLedger } from './ledger';
import { movementReport, orderReport, valuationReport } from './reports';
import { type MovementDoc, MovementStore } from './store/movements';
import { type OrderDoc, OrderStore } from './store/orders';
import { ReportRowStore } from './store/report-rows';
import { SupplierClient } from './supplier-client';

/** What the inventory handlers and jobs work with: settings, time, events, the stores and the supplier. */
export interface Inventory {
  config: InventoryConfig;
  clock: Clock;
  log: Logger;
  event: InventoryService['event'];
  jobs: InventoryService['jobs'];
  requestIds: InventoryService['requestIds'];
  /** Each tenant's limits on orders. */
  limits: TenantLimits<OrderLimits>;
  ledger: StockLedger;
  orders: OrderStore;
  movements: MovementStore;
  supplier: SupplierClient;
  /** Reports of orders, stock movements and stock valuation. */
  reports: Reports;
  /** Bulk imports of SKUs. */
  imports: Imports;
}

/** The composition root: the stores on the service's database, wired to its outbox and jobs. */
export function inventoryContext(service: InventoryService): Inventory {
  const orders = new OrderStore(service.outboxCollection<OrderDoc>('orders'), IdLists.of(service.db, 'order_lists'));
  const movements = new MovementStore(service.db.collection<MovementDoc>('movements'));
  const rows = new ReportRowStore(service.db);
  // The import row kind works with the context it is part of: it is completed once the kind exists.
  const inv: Inventory = {
    config: service.config,
    clock: service.clock,
    log: service.log,
    event: (tenantId, type, data) => service.event(tenantId, type, data),
    jobs: service.jobs,
    requestIds: service.requestIds,
    limits: new TenantLimits(service.db, service.clock, defaultOrderLimits),
    ledger: new StockLedger(service, orders, movements, service.log),
    orders,
    movements,
    supplier: new SupplierClient(service.config.SUPPLIER_URL, service.config.SUPPLIER_TIMEOUT_MS),
    reports: new Reports(
      service.db,
      service.outboxCollection<ReportDoc>('reports'),
      (tenantId, update) => service.event(tenantId, 'report.updated', update),
      service.clock,
      'inventory',
      {
        orders: orderReport(rows),
        'stock-movements': movementReport(rows),
        'stock-valuation': valuationReport(rows, () => service.clock.now()),
      },
      () => reportLimitsOf(service.config),
      (tenantId, reportId) =>
        service.jobs.schedule(reportJob, { id: reportId, tenantId, dueAt: service.clock.now(), payload: { tenantId, reportId } }),
    ),
    imports: null as never,
  };
  inv.imports = new Imports(
    service.db,
    service.outboxCollection<ImportDoc>('imports'),
    (tenantId, progress) => service.event(tenantId, 'import.updated', progress),
    service.clock,
    { skus: skuRows(inv) },
    () => importLimitsOf(service.config),
    (slice) =>
      service.jobs.schedule(importSlice, {
        id: `${slice.importId}-${slice.phase}-${slice.from}`,
        tenantId: slice.tenantId,
        dueAt: service.clock.now(),
        payload: slice,
      }),
  );
  return inv;
}
