import { type Actor, AppError, type EventEnvelope, type QueueEntry } from '@allot/contracts';
import type { OutboxCollection, OutboxEntry } from '@allot/kit';
import type { Filter, IndexDescription } from 'mongodb';
import { canSee } from '../domain/bookings';

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

/** What must happen before a new entry is announced: its durable expiry is scheduled. */
export interface QueueEffects {
  expiry?: { entryId: string; tenantId: string; dueAt: string };
}

export class QueueStore {
  constructor(private readonly docs: OutboxCollection<QueueDoc>) {}

  /**
   * Inserts a new entry with its event (its expiry is scheduled before the event is announced);
   * an entry already there under this id (a retried request) is returned as it is.
   */
  insert(doc: Omit<QueueDoc, 'outbox'>, event: EventEnvelope): Promise<{ doc: QueueDoc; created: boolean }> {
    const effects: QueueEffects = { expiry: { entryId: doc._id, tenantId: doc.tenantId, dueAt: doc.expiresAt } };
    return this.docs.insertOrGet(doc, [event], effects);
  }

  find(tenantId: string, id: string): Promise<QueueDoc | null> {
    return this.docs.findOne({ _id: id, tenantId });
  }

  /** An entry the actor may see: another tenant's, or another user's, does not exist for it. */
  async visible(tenantId: string, id: string, actor: Actor): Promise<QueueDoc> {
    const entry = await this.find(tenantId, id);
    if (!entry || !canSee(actor, entry.userId)) throw new AppError('not_found', 'Queue entry not found');
    return entry;
  }

  /** Pending entries of a session/date (expired or not; callers filter by time). */
  pending(tenantId: string, sessionId: string, date: string): Promise<QueueDoc[]> {
    return this.docs.find({ tenantId, sessionId, date, status: 'pending' }).toArray();
  }

  countPending(tenantId: string, sessionId: string, date: string): Promise<number> {
    return this.docs.raw.countDocuments({ tenantId, sessionId, date, status: 'pending' });
  }

  /** How many waitlists a user waits in (pending entries). */
  countPendingOf(tenantId: string, userId: string): Promise<number> {
    return this.docs.raw.countDocuments({ tenantId, userId, status: 'pending' });
  }

  forUser(tenantId: string, userId: string, limit: number, before?: string, status?: QueueEntry['status']): Promise<QueueDoc[]> {
    const query: Filter<QueueDoc> = { tenantId, userId };
    if (status) query.status = status;
    if (before) query._id = { $lt: before };
    return this.docs.find(query).sort({ _id: -1 }).limit(limit).toArray();
  }

  inPeriod(tenantId: string, sessionId: string, from: string, to: string): Promise<QueueDoc[]> {
    return this.docs.find({ tenantId, sessionId, date: { $gte: from, $lte: to } }).toArray();
  }

  /** Moves a pending entry to its next state with the event that announces it; null if it is not pending. */
  leave(id: string, set: Partial<QueueDoc>, event: EventEnvelope): Promise<QueueDoc | null> {
    return this.docs.update({ _id: id, status: 'pending' }, { $set: set }, [event]);
  }

  setPosition(id: string, position: number, estimatedWaitMinutes: number, updatedAt: string) {
    return this.docs.raw.updateOne({ _id: id, status: 'pending' }, { $set: { position, estimatedWaitMinutes, updatedAt } });
  }

  /** Pending entries past their expiry, across tenants (the expiry sweep's backstop). */
  overdue(now: string, limit: number): Promise<QueueDoc[]> {
    return this.docs
      .find({ status: 'pending', expiresAt: { $lte: now } })
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
