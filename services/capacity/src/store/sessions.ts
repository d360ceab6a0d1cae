import { AppError, type EventEnvelope, type Session } from '@allot/contracts';
import type { Clock, OutboxCollection, OutboxEntry } from '@allot/kit';
import type { Filter, IndexDescription } from 'mongodb';
import { type AcrossTenants, acrossTenants } from './across-tenants';

export interface SessionDoc extends Omit<Session, 'id'> {
  _id: string;
  tenantId: string;
  /** Increases with every change; its events carry it, so read models apply only newer ones. */
  version: number;
  outbox?: OutboxEntry[];
}

export const sessionIndexes: IndexDescription[] = [{ key: { tenantId: 1 } }, { key: { tenantId: 1, externalId: 1 } }];

export function toSession(doc: SessionDoc): Session {
  const { _id, tenantId: _tenant, version: _version, outbox: _outbox, ...rest } = doc;
  return { id: _id, ...rest };
}

/** A change made from the session as read at `current.version`, and the event that announces it. */
export type SessionChange = (current: SessionDoc) => { set: Partial<SessionDoc>; event: EventEnvelope };

/** Tries of a session change that lost races with other changes (each lost race is another change made). */
const CHANGE_ATTEMPTS = 20;

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

  /**
   * Inserts a new session (version 1) with the event that announces it; one already there under
   * its id (a retry) is returned.
   */
  async insert(tenantId: string, session: Session, event: EventEnvelope): Promise<SessionDoc> {
    const { id, ...rest } = session;
    return (await this.docs.insertOrGet({ _id: id, tenantId, version: 1, ...rest }, [event])).doc;
  }

  find(tenantId: string, id: string): Promise<SessionDoc | null> {
    return this.docs.findOne({ _id: id, tenantId });
  }

  /** The session an import gave this external id, if any. */
  findByExternalId(tenantId: string, externalId: string): Promise<SessionDoc | null> {
    return this.docs.findOne({ tenantId, externalId });
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

  /** A page of every tenant's sessions, for read models to rebuild from (see `acrossTenants`). */
  acrossTenants(query: Omit<AcrossTenants, 'date'>): Promise<SessionDoc[]> {
    return acrossTenants(this.docs, query, '_id');
  }

  listActive(tenantId: string): Promise<SessionDoc[]> {
    return this.docs.find({ tenantId, isActive: true }).toArray();
  }

  /**
   * Applies a change built from the session's current state as the next version, with the
   * event that announces it (built for that version). Guarded on the version read, so the event
   * always describes exactly the state it produced; a change that lost a race is rebuilt from
   * the newer state. `not_found` if the tenant has no such session.
   */
  async change(tenantId: string, id: string, build: SessionChange): Promise<SessionDoc> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(tenantId, id);
      const { set, event } = build(current);
      this.recentlyRead.delete(id);
      const doc = await this.docs.update({ _id: id, tenantId, version: current.version }, { $set: set, $inc: { version: 1 } }, [event]);
      this.recentlyRead.delete(id); // a booking may have cached the old state meanwhile
      if (doc) return doc;
      if (attempt === CHANGE_ATTEMPTS) throw new AppError('conflict', 'The session is being changed by others; try again');
    }
  }
}
