import { REPORT_CURSOR_BATCH, type ReportQuery } from '@allot/kit';
import type { Db, Filter, FindCursor, IndexDescription } from 'mongodb';
import type { MovementDoc } from './movements';
import type { OrderDoc } from './orders';
import type { SkuDoc } from './skus';

/** The orders reports read orders and movements in, served by indexes rather than sorts in memory. */
export const reportRowIndexes: { orders: IndexDescription[]; movements: IndexDescription[] } = {
  orders: [{ key: { tenantId: 1, createdAt: 1, _id: 1 } }],
  movements: [{ key: { tenantId: 1, at: 1, sku: 1, seq: 1 } }],
};

/** The reads of inventory's reports: cursors over orders, movements and SKUs (rows are streamed, never loaded whole). */
export class ReportRowStore {
  constructor(private readonly db: Db) {}

  private get orders() {
    return this.db.collection<OrderDoc>('orders');
  }

  private get movements() {
    return this.db.collection<MovementDoc>('movements');
  }

  private get skus() {
    return this.db.collection<SkuDoc>('skus');
  }

  /** Orders created in [from, to], of one SKU if asked; oldest first. Raw: read it through `readAhead`. */
  orderCursor(tenantId: string, q: ReportQuery): FindCursor<OrderDoc> {
    return this.orders.find(orderFilter(tenantId, q), { batchSize: REPORT_CURSOR_BATCH, raw: true }).sort({ createdAt: 1, _id: 1 });
  }

  /** Movements made in [from, to], of one SKU if asked; by time, then in each SKU's ledger order. Raw: read it through `readAhead`. */
  movementCursor(tenantId: string, q: ReportQuery): FindCursor<MovementDoc> {
    return this.movements.find(movementFilter(tenantId, q), { batchSize: REPORT_CURSOR_BATCH, raw: true }).sort({ at: 1, sku: 1, seq: 1 });
  }

  /** The tenant's SKUs (or the one asked for), by code. */
  skuCursor(tenantId: string, sku: string | null): FindCursor<Pick<SkuDoc, 'sku' | 'name'>> {
    return this.skus
      .find(sku ? { tenantId, sku } : { tenantId }, { projection: { sku: 1, name: 1 }, batchSize: REPORT_CURSOR_BATCH })
      .sort({ sku: 1 });
  }

  countSkus(tenantId: string, sku: string | null): Promise<number> {
    return this.skus.countDocuments(sku ? { tenantId, sku } : { tenantId });
  }

  /** One SKU's ledger up to `until` (an ISO time), in ledger order. */
  ledgerUntil(tenantId: string, sku: string, until: string): FindCursor<Pick<MovementDoc, 'type' | 'quantity' | 'unitCost'>> {
    return this.movements
      .find({ tenantId, sku, at: { $lte: until } }, { projection: { type: 1, quantity: 1, unitCost: 1 }, batchSize: REPORT_CURSOR_BATCH })
      .sort({ seq: 1 });
  }
}

/** The first and last instants of a range of whole days, as the ISO times orders and movements carry. */
export function timeRange(q: Pick<ReportQuery, 'from' | 'to'>): { $gte?: string; $lte?: string } | undefined {
  if (!q.from && !q.to) return undefined;
  return { ...(q.from ? { $gte: `${q.from}T00:00:00.000Z` } : {}), ...(q.to ? { $lte: `${q.to}T23:59:59.999Z` } : {}) };
}

function orderFilter(tenantId: string, q: ReportQuery): Filter<OrderDoc> {
  const range = timeRange(q);
  return { tenantId, ...(q.sku ? { sku: q.sku } : {}), ...(range ? { createdAt: range } : {}) };
}

function movementFilter(tenantId: string, q: ReportQuery): Filter<MovementDoc> {
  const range = timeRange(q);
  return { tenantId, ...(q.sku ? { sku: q.sku } : {}), ...(range ? { at: range } : {}) };
}
