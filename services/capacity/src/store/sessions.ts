import type { EventEnvelope, Session } from '@allot/contracts';
import { type OutboxEntry, outboxEntries, outboxPush } from '@allot/kit';
import type { Collection, Db, IndexDescription } from 'mongodb';

export interface SessionDoc extends Omit<Session, 'id'> {
  _id: string;
  tenantId: string;
  outbox?: OutboxEntry[];
}

export const sessionIndexes: IndexDescription[] = [{ key: { tenantId: 1 } }];

export function toSession(doc: SessionDoc): Session {
  const { _id, tenantId: _tenant, outbox: _outbox, ...rest } = doc;
  return { id: _id, ...rest };
}

export class SessionStore {
  readonly docs: Collection<SessionDoc>;

  constructor(db: Db) {
    this.docs = db.collection<SessionDoc>('sessions');
  }

  async insert(tenantId: string, session: Session, event: EventEnvelope): Promise<SessionDoc> {
    const { id, ...rest } = session;
    const doc: SessionDoc = { _id: id, tenantId, ...rest, outbox: outboxEntries([event]) };
    await this.docs.insertOne(doc);
    return doc;
  }

  async get(tenantId: string, id: string): Promise<SessionDoc | null> {
    return this.docs.findOne({ _id: id, tenantId }, { projection: { outbox: 0 } });
  }

  list(tenantId: string, options: { active?: boolean; limit: number; after?: string }): Promise<SessionDoc[]> {
    const filter: Record<string, unknown> = { tenantId };
    if (options.active !== undefined) filter.isActive = options.active;
    if (options.after) filter._id = { $gt: options.after };
    return this.docs
      .find(filter, { projection: { outbox: 0 } })
      .sort({ _id: 1 })
      .limit(options.limit)
      .toArray();
  }

  listActive(tenantId: string): Promise<SessionDoc[]> {
    return this.docs.find({ tenantId, isActive: true }, { projection: { outbox: 0 } }).toArray();
  }

  /** Applies a change and stores the event that announces it, in one update. */
  update(tenantId: string, id: string, set: Partial<SessionDoc>, event: EventEnvelope) {
    return this.docs.findOneAndUpdate({ _id: id, tenantId }, { $set: set, ...outboxPush([event]) }, { returnDocument: 'after' });
  }
}
