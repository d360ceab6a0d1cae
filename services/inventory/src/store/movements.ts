import type { Movement } from '@allot/contracts';
import { onlyDuplicateKeys } from '@allot/kit';
import type { Collection, IndexDescription } from 'mongodb';
import type { DecidedMovement } from '../domain/stock';

/** A ledger line as stored: `seq` is its place in its SKU's ledger. */
export interface MovementDoc extends Omit<DecidedMovement, 'id'> {
  _id: string;
  tenantId: string;
  sku: string;
  at: string;
}

export const movementIndexes: IndexDescription[] = [{ key: { tenantId: 1, sku: 1, seq: 1 } }];

export const toMovement = ({ _id, sku, type, quantity, balanceAfter, orderId, reason, unitCost, at }: MovementDoc): Movement => ({
  id: _id,
  sku,
  type,
  quantity,
  balanceAfter,
  orderId,
  reason,
  ...(unitCost != null ? { unitCost } : {}),
  at,
});

/** The movements ledger: written once per line (an order's lines have fixed ids), read in ledger order. */
export class MovementStore {
  constructor(private readonly docs: Collection<MovementDoc>) {}

  /** Writes lines with one command; lines already written (a retry, the sweep) stay as they are. */
  async insertMany(docs: MovementDoc[]): Promise<void> {
    if (docs.length === 0) return;
    try {
      await this.docs.insertMany(docs, { ordered: false });
    } catch (error) {
      if (!onlyDuplicateKeys(error)) throw error;
    }
  }

  /** A page of a SKU's ledger, oldest first; the cursor is the last line's place. */
  list(tenantId: string, sku: string, limit: number, cursor?: string): Promise<MovementDoc[]> {
    const after = cursor ? Number(cursor) : 0;
    return this.docs
      .find({ tenantId, sku, seq: { $gt: Number.isFinite(after) ? after : 0 } })
      .sort({ seq: 1 })
      .limit(limit)
      .toArray();
  }
}
