import { AppError } from '@allot/contracts';
import { LRUCache } from 'lru-cache';
import {
  isKnown,
  mergeSession,
  newerSession,
  newerSlot,
  type SessionFact,
  type SessionState,
  type SlotState,
  slotKey,
} from './domain/model';
import type { ReadModelStore } from './store/read-model';

/** A session/date the database has no ledger figures for (nobody booked it): cached too. */
const NOBODY_BOOKED = 'nobody-booked';

/**
 * One replica's copy of the read model, answering reads from memory. The replica's live feed
 * applies every capacity event to it (see `live-feed.ts`); what it does not hold yet is read
 * from the database once and merged by version, so a read racing an event never goes back in
 * time. Sessions are few and all kept; session/dates are kept up to `maxSlots`, least recently
 * used first out (an evicted one is read again from the database, which has long caught up).
 */
export class ReadModelCache {
  private readonly sessions = new Map<string, SessionState>();
  private readonly loadedTenants = new Set<string>();
  private readonly slots: LRUCache<string, SlotState | typeof NOBODY_BOOKED>;

  constructor(
    private readonly store: ReadModelStore,
    maxSlots: number,
  ) {
    this.slots = new LRUCache({ max: maxSlots });
  }

  applySession(fact: SessionFact): void {
    const current = this.sessions.get(fact.sessionId);
    const next = mergeSession(current, fact);
    if (next !== current) this.sessions.set(fact.sessionId, next);
  }

  /** Keeps the slot figures if they are newer; true if they were. */
  applySlot(slot: SlotState): boolean {
    const key = slotKey(slot.sessionId, slot.date);
    const current = this.slots.get(key);
    const held = current === NOBODY_BOOKED ? undefined : current;
    if (newerSlot(held, slot) === held) return false;
    this.slots.set(key, slot);
    return true;
  }

  /** The cached figures of a session/date: null if known to be unbooked, undefined if not cached. */
  peekSlot(sessionId: string, date: string): SlotState | null | undefined {
    const held = this.slots.get(slotKey(sessionId, date));
    return held === NOBODY_BOOKED ? null : held;
  }

  /** The tenant's session; `not_found` if it has none with this id (another tenant's included). */
  async session(tenantId: string, sessionId: string): Promise<SessionState> {
    let session = this.sessions.get(sessionId);
    if (!isKnown(session)) {
      const stored = await this.store.session(sessionId);
      if (stored) session = this.keepSession(stored);
    }
    if (!isKnown(session) || session.tenantId !== tenantId) throw new AppError('not_found', 'Session not found');
    return session;
  }

  /** The tenant's active sessions, in id (creation) order. */
  async activeSessions(tenantId: string): Promise<SessionState[]> {
    if (!this.loadedTenants.has(tenantId)) {
      for (const stored of await this.store.sessionsOf(tenantId)) this.keepSession(stored);
      this.loadedTenants.add(tenantId);
    }
    const active: SessionState[] = [];
    for (const session of this.sessions.values()) {
      if (session.tenantId === tenantId && session.isActive && isKnown(session)) active.push(session);
    }
    return active.sort((a, b) => (a.sessionId < b.sessionId ? -1 : 1));
  }

  /** The figures of each session/date (undefined where nobody booked), reading what it lacks in one query. */
  async slotsOf(pairs: { sessionId: string; date: string }[]): Promise<Map<string, SlotState | undefined>> {
    const keys = pairs.map((p) => slotKey(p.sessionId, p.date));
    const missing = keys.filter((key) => !this.slots.has(key));
    if (missing.length > 0) {
      const stored = await this.store.slotsByKey(missing);
      for (const slot of stored) this.applySlot(slot);
      for (const key of missing) if (!this.slots.has(key)) this.slots.set(key, NOBODY_BOOKED);
    }
    const found = new Map<string, SlotState | undefined>();
    for (const key of keys) {
      const slot = this.slots.get(key);
      found.set(key, slot === NOBODY_BOOKED ? undefined : slot);
    }
    return found;
  }

  private keepSession(stored: SessionState): SessionState {
    const kept = newerSession(this.sessions.get(stored.sessionId), stored);
    this.sessions.set(stored.sessionId, kept);
    return kept;
  }
}
