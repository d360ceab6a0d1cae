import type { EventEnvelope, QueueEntry } from '@allot/contracts';
import { type OutboxEntry, outboxEntries, outboxPush } from '@allot/kit';
import type { Collection, Db, IndexDescription } from 'mongodb';

export interface QueueDoc extends Omit<QueueEntry, 'id'> {
  _id: string;
  tenantId: string;
  /** Position and estimate when the entry joined (kept for analytics once it leaves the queue). */
  initialPosition: number;
  initialWaitMinutes: number;
  outbox?: OutboxEntry[];
}

export const queueIndexes: IndexDescription[] = [
  { key: { tenantId: 1, sessionId: 1, date: 1, status: 1 } },
  { key: { tenantId: 1, userId: 1 } },
  { key: { status: 1, expiresAt: 1 } },
];

export function toQueueEntry(doc: QueueDoc): QueueEntry {
  const { _id, tenantId: _t, initialPosition: _p, initialWaitMinutes: _w, outbox: _o, ...rest } = doc;
  return { id: _id, ...rest };
}

export class QueueStore {
  readonly docs: Collection<QueueDoc>;

  constructor(db: Db) {
    this.docs = db.collection<QueueDoc>('queue');
  }

  async insert(doc: Omit<QueueDoc, 'outbox'>, event: EventEnvelope, effects: unknown): Promise<QueueDoc> {
    const full: QueueDoc = { ...doc, outbox: outboxEntries([event], effects) };
    await this.docs.insertOne(full);
    return full;
  }

  get(tenantId: string, id: string): Promise<QueueDoc | null> {
    return this.docs.findOne({ _id: id, tenantId }, { projection: { outbox: 0 } });
  }

  /** Pending entries of a session/date (expired or not; callers filter by time). */
  pending(tenantId: string, sessionId: string, date: string): Promise<QueueDoc[]> {
    return this.docs.find({ tenantId, sessionId, date, status: 'pending' }, { projection: { outbox: 0 } }).toArray();
  }

  countPending(tenantId: string, sessionId: string, date: string): Promise<number> {
    return this.docs.countDocuments({ tenantId, sessionId, date, status: 'pending' });
  }

  forUser(tenantId: string, userId: string, limit: number, before?: string, status?: QueueEntry['status']): Promise<QueueDoc[]> {
    const query: Record<string, unknown> = { tenantId, userId };
    if (status) query.status = status;
    if (before) query._id = { $lt: before };
    return this.docs
      .find(query, { projection: { outbox: 0 } })
      .sort({ _id: -1 })
      .limit(limit)
      .toArray();
  }

  inPeriod(tenantId: string, sessionId: string, from: string, to: string): Promise<QueueDoc[]> {
    return this.docs.find({ tenantId, sessionId, date: { $gte: from, $lte: to } }, { projection: { outbox: 0 } }).toArray();
  }

  /** Moves a pending entry to its next state with the event that announces it; null if it is not pending. */
  leave(id: string, set: Partial<QueueDoc>, event: EventEnvelope): Promise<QueueDoc | null> {
    return this.docs.findOneAndUpdate({ _id: id, status: 'pending' }, { $set: set, ...outboxPush([event]) }, { returnDocument: 'after' });
  }

  setPosition(id: string, position: number, estimatedWaitMinutes: number, updatedAt: string) {
    return this.docs.updateOne({ _id: id, status: 'pending' }, { $set: { position, estimatedWaitMinutes, updatedAt } });
  }

  /** Pending entries past their expiry, across tenants (the expiry sweep's backstop). */
  overdue(now: string, limit: number): Promise<QueueDoc[]> {
    return this.docs
      .find({ status: 'pending', expiresAt: { $lte: now } }, { projection: { outbox: 0 } })
      .limit(limit)
      .toArray();
  }

  /** Session/dates with pending entries, across tenants (the processing sweep). */
  async waiting(limit: number): Promise<{ tenantId: string; sessionId: string; date: string }[]> {
    const docs = await this.docs
      .find({ status: 'pending' }, { projection: { tenantId: 1, sessionId: 1, date: 1 } })
      .limit(limit)
      .toArray();
    const seen = new Map<string, { tenantId: string; sessionId: string; date: string }>();
    for (const d of docs) seen.set(`${d.sessionId}:${d.date}`, { tenantId: d.tenantId, sessionId: d.sessionId, date: d.date });
    return [...seen.values()];
  }
}
