import { AppError, type EventEnvelope, type Session } from '@allot/contracts';
import type { Clock, OutboxCollection, OutboxEntry } from '@allot/kit';
import type { Filter, IndexDescription } from 'mongodb';

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

/** How long the booking path trusts a session it read (see `recent`). */
const RECENT_MS = 5000;
const RECENT_MAX = 10_000;

/** Sessions, and a short-lived cache of them for the booking path. */
export class SessionStore {
  private readonly recentlyRead = new Map<string, { session: SessionDoc; until: number }>();

  constructor(
    private readonly docs: OutboxCollection<SessionDoc>,
    private readonly clock: Clock,
  ) {}

  /** Inserts a new session with the event that announces it; one already there under its id (a retry) is returned. */
  async insert(tenantId: string, session: Session, event: EventEnvelope): Promise<SessionDoc> {
    const { id, ...rest } = session;
    return (await this.docs.insertOrGet({ _id: id, tenantId, ...rest }, [event])).doc;
  }

  find(tenantId: string, id: string): Promise<SessionDoc | null> {
    return this.docs.findOne({ _id: id, tenantId });
  }

  /** The session, read now; `not_found` if the tenant has none with this id. */
  async get(tenantId: string, id: string): Promise<SessionDoc> {
    const session = await this.find(tenantId, id);
    if (!session) throw new AppError('not_found', 'Session not found');
    this.recentlyRead.set(id, { session, until: this.clock.now().getTime() + RECENT_MS });
    return session;
  }

  /**
   * The session as read at most 5 s ago, for the booking path (one read less per booking).
   * A deactivation reaches bookings on other replicas within those 5 s; anything that depends
   * on the session's default capacity reads it fresh.
   */
  async recent(tenantId: string, id: string): Promise<SessionDoc> {
    const cached = this.recentlyRead.get(id);
    if (cached && cached.until > this.clock.now().getTime() && cached.session.tenantId === tenantId) return cached.session;
    if (this.recentlyRead.size > RECENT_MAX) this.recentlyRead.clear();
    return this.get(tenantId, id);
  }

  list(tenantId: string, options: { active?: boolean; limit: number; after?: string }): Promise<SessionDoc[]> {
    const filter: Filter<SessionDoc> = { tenantId };
    if (options.active !== undefined) filter.isActive = options.active;
    if (options.after) filter._id = { $gt: options.after };
    return this.docs.find(filter).sort({ _id: 1 }).limit(options.limit).toArray();
  }

  listActive(tenantId: string): Promise<SessionDoc[]> {
    return this.docs.find({ tenantId, isActive: true }).toArray();
  }

  /** Applies a change with the event that announces it; null if there is no such session. */
  async update(tenantId: string, id: string, set: Partial<SessionDoc>, event: EventEnvelope): Promise<SessionDoc | null> {
    this.recentlyRead.delete(id);
    const doc = await this.docs.update({ _id: id, tenantId }, { $set: set }, [event]);
    this.recentlyRead.delete(id); // a booking may have cached the old state meanwhile
    return doc;
  }
}
