import type { Notification } from '@allot/contracts';
import { groupedInserts, insertNew } from '@allot/kit';
import type { Collection, Filter, IndexDescription } from 'mongodb';

export interface NotificationDoc extends Omit<Notification, 'id'> {
  _id: string;
  tenantId: string;
  /** What it was created from (an event id, or `bulk:<jobId>`): one notification per (source, recipient). */
  source: string;
}

export const notificationIndexes: IndexDescription[] = [
  { key: { tenantId: 1, source: 1, recipient: 1 }, unique: true, name: 'one_per_source_and_recipient' },
  { key: { tenantId: 1, recipient: 1, _id: -1 } },
  { key: { tenantId: 1, recipient: 1, readAt: 1 } },
  { key: { readAt: 1 } },
];

export function toNotification(doc: NotificationDoc): Notification {
  const { _id, tenantId: _t, source: _s, ...rest } = doc;
  return { id: _id, ...rest };
}

export class NotificationStore {
  private readonly insertGrouped: (doc: NotificationDoc) => Promise<boolean>;

  constructor(private readonly docs: Collection<NotificationDoc>) {
    this.insertGrouped = groupedInserts(docs);
  }

  /**
   * Stores a notification together with the others arriving meanwhile (one insert), or returns
   * the one its source already gave this recipient (the source event redelivered).
   */
  async create(doc: NotificationDoc): Promise<NotificationDoc> {
    if (await this.insertGrouped(doc)) return doc;
    const existing = await this.docs.findOne({ tenantId: doc.tenantId, source: doc.source, recipient: doc.recipient });
    if (!existing) throw new Error(`notification ${doc._id} was refused as a duplicate, but its source has none for its recipient`);
    return existing;
  }

  /**
   * Inserts many at once (a bulk-send batch), skipping recipients this source already notified.
   * Returns the ids stored now and how many were already there.
   */
  async insertMany(docs: NotificationDoc[]): Promise<{ inserted: string[]; existing: number }> {
    const stored = await insertNew(this.docs, docs);
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
    return this.docs.countDocuments({ tenantId, recipient, readAt: null });
  }

  /** Marks it read unless it already is (the first read time stays); null if the feed has no such notification. */
  async markRead(tenantId: string, recipient: string, id: string, at: string): Promise<NotificationDoc | null> {
    await this.docs.updateOne({ _id: id, tenantId, recipient, readAt: null }, { $set: { readAt: at } });
    return this.docs.findOne({ _id: id, tenantId, recipient });
  }

  async markAllRead(tenantId: string, recipient: string, at: string): Promise<number> {
    const result = await this.docs.updateMany({ tenantId, recipient, readAt: null }, { $set: { readAt: at } });
    return result.modifiedCount;
  }

  /** Deletes notifications read before `before` (never an unread one), across tenants. */
  async purgeRead(before: string): Promise<number> {
    const result = await this.docs.deleteMany({ readAt: { $lt: before } });
    return result.deletedCount;
  }
}
