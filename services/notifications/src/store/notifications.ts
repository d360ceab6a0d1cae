import type { EventEnvelope, Notification } from '@allot/contracts';
import { insertNew, type OutboxCollection, type OutboxEntry } from '@allot/kit';
import type { Filter, IndexDescription } from 'mongodb';

export interface NotificationDoc extends Omit<Notification, 'id'> {
  _id: string;
  tenantId: string;
  /** What it was created from (an event id, or `bulk:<jobId>`): one notification per (source, recipient). */
  source: string;
  outbox?: OutboxEntry[];
}

export const notificationIndexes: IndexDescription[] = [
  { key: { tenantId: 1, source: 1, recipient: 1 }, unique: true, name: 'one_per_source_and_recipient' },
  { key: { tenantId: 1, recipient: 1, _id: -1 } },
  { key: { tenantId: 1, recipient: 1, readAt: 1 } },
  { key: { readAt: 1 } },
];

export function toNotification(doc: NotificationDoc): Notification {
  const { _id, tenantId: _t, source: _s, outbox: _o, ...rest } = doc;
  return { id: _id, ...rest };
}

export class NotificationStore {
  constructor(private readonly docs: OutboxCollection<NotificationDoc>) {}

  /**
   * Stores a notification with the event announcing it; false if this source already notified
   * this recipient (a redelivered event): the first one's outbox announces it, nothing else does.
   */
  create(doc: Omit<NotificationDoc, 'outbox'>, event: EventEnvelope): Promise<boolean> {
    return this.docs.insertBatched(doc, [event]); // together with the other events' notifications
  }

  /**
   * Inserts many at once (a bulk-send batch), skipping recipients this source already notified.
   * Returns the ids stored now and how many were already there.
   */
  async insertMany(docs: NotificationDoc[]): Promise<{ inserted: string[]; existing: number }> {
    const stored = await insertNew(this.docs.raw, docs);
    return { inserted: docs.filter((_, i) => !stored.has(i)).map((d) => d._id), existing: stored.size };
  }

  /** The notifications one source gave these recipients (to announce a batch again after a crash). */
  bySource(tenantId: string, source: string, recipients: string[]): Promise<NotificationDoc[]> {
    return this.docs.find({ tenantId, source, recipient: { $in: recipients } }).toArray();
  }

  list(tenantId: string, recipient: string, limit: number, before?: string, unreadOnly?: boolean): Promise<NotificationDoc[]> {
    const query: Filter<NotificationDoc> = { tenantId, recipient };
    if (unreadOnly) query.readAt = null;
    if (before) query._id = { $lt: before };
    return this.docs.find(query).sort({ _id: -1 }).limit(limit).toArray();
  }

  /** Counted from the documents themselves, so it is exact whatever happens concurrently. */
  unreadCount(tenantId: string, recipient: string): Promise<number> {
    return this.docs.raw.countDocuments({ tenantId, recipient, readAt: null });
  }

  /** Marks it read unless it already is (the first read time stays); null if the feed has no such notification. */
  async markRead(tenantId: string, recipient: string, id: string, at: string): Promise<NotificationDoc | null> {
    await this.docs.raw.updateOne({ _id: id, tenantId, recipient, readAt: null }, { $set: { readAt: at } });
    return this.docs.findOne({ _id: id, tenantId, recipient });
  }

  async markAllRead(tenantId: string, recipient: string, at: string): Promise<number> {
    const result = await this.docs.raw.updateMany({ tenantId, recipient, readAt: null }, { $set: { readAt: at } });
    return result.modifiedCount;
  }

  /** Deletes notifications read before `before` (never an unread one), across tenants. */
  async purgeRead(before: string): Promise<number> {
    const result = await this.docs.raw.deleteMany({ readAt: { $lt: before } });
    return result.deletedCount;
  }
}
