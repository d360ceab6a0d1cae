import { type ReportRow, type ReportSource, readAhead } from '@allot/kit';
import { FifoValuation } from './domain/valuation';
import type { ReportRowStore } from './store/report-rows';

/** The `orders` report: one row per order created in the range, oldest first; `reason` is that of its latest change. */
export const orderReport = (store: ReportRowStore): ReportSource => ({
  timeOf: (row) => row.createdAt as string,
  async *rows(tenantId, q) {
    for await (const o of readAhead(store.orderCursor(tenantId, q))) {
      yield {
        orderId: o._id,
        sku: o.sku,
        qty: o.qty,
        userId: o.userId,
        status: o.status,
        reason: o.history.at(-1)?.reason ?? null,
        createdAt: o.createdAt,
        updatedAt: o.updatedAt,
      } satisfies ReportRow;
    }
  },
});

/** The `stock-movements` report: one row per ledger movement in the range (`qty` signed: + in, − out). */
export const movementReport = (store: ReportRowStore): ReportSource => ({
  timeOf: (row) => row.at as string,
  async *rows(tenantId, q) {
    for await (const m of readAhead(store.movementCursor(tenantId, q))) {
      yield { movementId: m._id, sku: m.sku, type: m.type, qty: m.quantity, orderId: m.orderId, at: m.at } satisfies ReportRow;
    }
  },
});

/**
 * The `stock-valuation` report: one row per SKU, its stock at the end of `to` (default: now)
 * valued FIFO from its restocks' unit costs (domain/valuation.ts). Each SKU's ledger is folded
 * through a cursor of its own, so only its cost layers are held.
 */
export const valuationReport = (store: ReportRowStore, now: () => Date): ReportSource => ({
  count: (tenantId, q) => store.countSkus(tenantId, q.sku),
  async *rows(tenantId, q) {
    const until = q.to ? `${q.to}T23:59:59.999Z` : now().toISOString();
    for await (const s of store.skuCursor(tenantId, q.sku)) {
      const valuation = new FifoValuation();
      for await (const m of store.ledgerUntil(tenantId, s.sku, until)) valuation.add(m);
      const { quantity, unitCostFifo, value } = valuation.result();
      yield { sku: s.sku, name: s.name, quantity, unitCostFifo, value } satisfies ReportRow;
    }
  },
});
