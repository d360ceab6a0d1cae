import type { DeadLetterView } from '@allot/contracts';
import { type DeadLetter, isDuplicateKey } from '@allot/kit';
import type { Collection, Db, Filter, IndexDescription } from 'mongodb';

/** The platform's dead-letter inbox: one document per message a consumer gave up on, however often. */
export interface DeadLetterDoc extends Omit<DeadLetterView, 'id'> {
  _id: string;
  tenantId: string;
  /** The latest record as the kit wrote it (what a retry re-publishes). */
  record: DeadLetter;
  /** Where its records sit on the dead-letter stream (removed with it). */
  streamSeqs: number[];
}

export const deadLetterIndexes: IndexDescription[] = [{ key: { tenantId: 1, status: 1, _id: -1 } }, { key: { status: 1, retriedAt: 1 } }];

export function toDeadLetterView(doc: DeadLetterDoc): DeadLetterView {
  const { _id, tenantId: _t, record: _r, streamSeqs: _s, ...rest } = doc;
  return { id: _id, ...rest };
}

export class DeadLetterStore {
  private readonly docs: Collection<DeadLetterDoc>;

  constructor(db: Db) {
    this.docs = db.collection('deadLetters');
  }

  /**
   * Records a failure. Applied only if it is newer than the one held, so a redelivered record
   * changes nothing and a retry that failed again shows as dead again, with its first failure kept.
   */
  async record(record: DeadLetter & { tenantId: string }, seq: number): Promise<void> {
    const filter: Filter<DeadLetterDoc> = { _id: record.id, lastFailedAt: { $lt: record.failedAt } };
    try {
      await this.docs.updateOne(
        filter,
        {
          $set: {
            service: record.service,
            consumer: record.consumer,
            subject: record.subject,
            error: record.error,
            deliveries: record.deliveries,
            lastFailedAt: record.failedAt,
            status: 'dead',
            retriedAt: null,
            data: record.data,
            record,
          },
          $setOnInsert: { tenantId: record.tenantId, firstFailedAt: record.failedAt },
          $inc: { failures: 1 },
          $addToSet: { streamSeqs: seq },
        },
        { upsert: true },
      );
    } catch (error) {
      // The upsert met the document with a newer failure (or this one): nothing to change.
      if (!isDuplicateKey(error)) throw error;
    }
  }

  list(tenantId: string, limit: number, before?: string, service?: string): Promise<DeadLetterDoc[]> {
    const query: Filter<DeadLetterDoc> = { tenantId, status: 'dead' };
    if (service) query.service = service;
    if (before) query._id = { $lt: before };
    return this.docs.find(query).sort({ _id: -1 }).limit(limit).toArray();
  }

  find(tenantId: string, id: string): Promise<DeadLetterDoc | null> {
    return this.docs.findOne({ _id: id, tenantId });
  }

  /** Marks a dead one retried; null if it is not dead (already retried, or unknown in this tenant). */
  markRetried(tenantId: string, id: string, at: string): Promise<DeadLetterDoc | null> {
    return this.docs.findOneAndUpdate(
      { _id: id, tenantId, status: 'dead' },
      { $set: { status: 'retried', retriedAt: at } },
      { returnDocument: 'after' },
    );
  }

  /** Undoes `markRetried` when the retry could not be published. */
  async markDead(id: string): Promise<void> {
    await this.docs.updateOne({ _id: id, status: 'retried' }, { $set: { status: 'dead', retriedAt: null } });
  }

  async delete(tenantId: string, id: string): Promise<DeadLetterDoc | null> {
    return this.docs.findOneAndDelete({ _id: id, tenantId });
  }

  /** Retried dead letters that did not fail again within the retention are forgotten. */
  async purgeRetried(before: string): Promise<number> {
    return (await this.docs.deleteMany({ status: 'retried', retriedAt: { $lt: before } })).deletedCount;
  }
}
