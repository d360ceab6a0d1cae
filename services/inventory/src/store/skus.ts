import type { EventEnvelope, Sku } from '@allot/contracts';
import { OutboxLedgerStore } from '@allot/kit';
import type { Filter, IndexDescription } from 'mongodb';
import type { Waiting } from '../domain/stock';
import type { MovementDoc } from './movements';
import type { NewOrder, OrderOutcomeDoc } from './orders';

/**
 * A change written on the SKU whose other half is not done yet: its movements not yet in the
 * ledger collection, a new order not yet in `orders`, waiting orders' new states not yet on
 * their documents, a released order still marked `releasing`. It stays on the SKU until that
 * half is done, so a retried or swept change is recognised and never applied twice.
 */
export interface Inflight {
  id: string;
  at: string;
  movements: MovementDoc[];
  newOrder?: NewOrder;
  outcomes: OrderOutcomeDoc[];
  /** The order whose stock came back (cancel): its `releasing` mark is cleared. */
  released?: string;
}

/**
 * The stock of one SKU: the only place its quantity is counted. It holds the quantity, a
 * version that every write increments (writes are compare-and-set on it), the orders waiting
 * for stock in arrival order, the changes in flight and the events not yet published.
 */
export interface SkuDoc {
  /** `<tenantId>:<sku>` */
  _id: string;
  tenantId: string;
  sku: string;
  name: string;
  quantity: number;
  reorderLevel: number;
  /** Below the reorder level as last written, so `stock.low_detected` fires once per crossing. */
  low: boolean;
  /** Movements so far (the next one's place in the ledger). */
  seq: number;
  version: number;
  waiting: Waiting[];
  inflight: Inflight[];
  createdAt: string;
  updatedAt: string;
}

export type SkuFigures = Pick<SkuDoc, 'quantity' | 'low' | 'seq' | 'waiting' | 'updatedAt'>;

export const skuIndexes: IndexDescription[] = [{ key: { tenantId: 1, sku: 1 } }];

export const skuKey = (tenantId: string, sku: string) => `${tenantId}:${sku}`;

export const toSku = ({ sku, name, quantity, reorderLevel, createdAt, updatedAt }: SkuDoc): Sku => ({
  sku,
  name,
  quantity,
  reorderLevel,
  createdAt,
  updatedAt,
});

/** SKUs: created once, then written only by compare-and-set of their version. */
export class SkuStore extends OutboxLedgerStore<SkuDoc, SkuFigures> {
  byKey(key: string): Promise<SkuDoc | null> {
    return this.docs.findOne({ _id: key });
  }

  async exists(key: string): Promise<boolean> {
    return (await this.docs.findOne({ _id: key }, { projection: { _id: 1 } })) !== null;
  }

  /** A page of a tenant's SKUs by code; the cursor is the last code shown. */
  list(tenantId: string, limit: number, cursor?: string): Promise<SkuDoc[]> {
    const filter: Filter<SkuDoc> = { tenantId, ...(cursor ? { sku: { $gt: cursor } } : {}) };
    return this.docs
      .find(filter, { projection: { inflight: 0, waiting: 0 } })
      .sort({ sku: 1 })
      .limit(limit)
      .toArray();
  }

  /**
   * Renames a SKU or changes its reorder level: fields the ledger's version does not guard (its
   * batches never write them), so this neither waits for nor disturbs a batch. Null if there is no such SKU.
   */
  describe(key: string, details: Partial<Pick<SkuDoc, 'name' | 'reorderLevel'>>, at: string): Promise<SkuDoc | null> {
    return this.docs.update({ _id: key }, { $set: { ...details, updatedAt: at } });
  }

  /** Creates a SKU with its first change in flight; false if the code is taken. */
  async create(doc: SkuDoc, events: EventEnvelope[]): Promise<boolean> {
    const { created } = await this.docs.insertOrGet(doc, events);
    return created;
  }
}
