import { isDuplicateKey } from '@allot/kit';
import type { Collection, Db, IndexDescription } from 'mongodb';

interface ReceivedDoc {
  _id: string;
  expiresAt: Date;
}

export const supplierWebhookIndexes: IndexDescription[] = [{ key: { expiresAt: 1 } }];

/**
 * The `webhook-id`s of supplier callbacks received lately, shared by every gateway replica, so
 * a call is applied once however often it is replayed. A signed call is accepted while its
 * timestamp is within the tolerance either side of now, so an id is kept for twice that (and a
 * minute): after that its signature is too old to pass. FerretDB has no TTL indexes, so expired
 * ids are ignored on claim and removed by `purgeExpired`.
 */
export class SupplierWebhookIds {
  private readonly received: Collection<ReceivedDoc>;

  constructor(
    db: Db,
    private readonly keepMs: number,
  ) {
    this.received = db.collection<ReceivedDoc>('supplierWebhookIds');
  }

  /** Claims an id for this call: false if another call with it was received (and not released). */
  async claim(id: string, now: Date): Promise<boolean> {
    const expiresAt = new Date(now.getTime() + this.keepMs);
    try {
      await this.received.insertOne({ _id: id, expiresAt });
      return true;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // Only an id whose record expired (and was not purged yet) can be taken again.
      const taken = await this.received.updateOne({ _id: id, expiresAt: { $lte: now } }, { $set: { expiresAt } });
      return taken.modifiedCount === 1;
    }
  }

  /** Lets the id be received again: its call was not applied (refused or failed), so a retry may apply it. */
  async release(id: string): Promise<void> {
    await this.received.deleteOne({ _id: id });
  }

  async purgeExpired(now: Date): Promise<void> {
    await this.received.deleteMany({ expiresAt: { $lte: now } });
  }
}
