import type { Actor, Booking, EventEnvelope } from '@allot/contracts';
import { AppError } from '@allot/contracts';
import { assertBeforeDeadline, lazyInstruments, makeEvent, type OutboxEntry, type Service } from '@allot/kit';
import type { Collection, Document } from 'mongodb';
import pLimit, { type LimitFunction } from 'p-limit';
import type { CapacityConfig } from './config';
import { BookingStore } from './store/bookings';
import { QueueStore } from './store/queue';
import { type SessionDoc, SessionStore } from './store/sessions';
import { type SlotDoc, type SlotEffects, SlotStore, snapshotOf } from './store/slots';

/** Everything the capacity handlers share: stores, clock, config, and how events are made. */
/** Bookings by result (SPEC §10): confirmed, held, capacity_exhausted, session_inactive, … */
export const capacityMetrics = lazyInstruments((meter) => ({
  bookings: meter.createCounter('allot_bookings_total', { description: 'Booking requests by result' }),
}));

/** Ledger changes in flight per session/date in this process (see `onLedger`). */
const LEDGER_CONCURRENCY = 4;
const SESSION_CACHE_MS = 5000;

export class Capacity {
  private readonly ledgerLimits = new Map<string, LimitFunction>();
  private readonly recentSessions = new Map<string, { session: SessionDoc; until: number }>();
  readonly sessions: SessionStore;
  readonly slots: SlotStore;
  readonly bookings: BookingStore;
  readonly queue: QueueStore;

  constructor(readonly service: Service<CapacityConfig>) {
    this.sessions = new SessionStore(service.db);
    this.slots = new SlotStore(service.db);
    this.bookings = new BookingStore(service.db);
    this.queue = new QueueStore(service.db);
    service.outbox.watch(this.sessions.docs);
    service.outbox.watch(this.queue.docs, (entry) => this.prepareQueueEntry(entry));
    service.outbox.watch(this.slots.docs, (entry, doc) => this.prepareSlotEntry(entry, doc as SlotDoc));
  }

  get config() {
    return this.service.config;
  }

  now(): Date {
    return this.service.clock.now();
  }

  event(tenantId: string, type: string, data: unknown): EventEnvelope {
    return makeEvent('capacity', tenantId, type as never, data as never, this.service.clock);
  }

  /** Publishes the event a write stored on its document (the outbox relay's sweep is the backstop). */
  flush(collection: 'slots' | 'sessions' | 'queue', doc: { _id: string; outbox?: OutboxEntry[] } | null, event: EventEnvelope) {
    return this.service.outbox.flush(this[collection].docs as unknown as Collection<Document>, doc, [event.id]);
  }

  /**
   * Runs a change of one ledger (its write and the flush of its event) with at most a few others
   * of the same session/date at a time. Correctness does not need it — the guards do that — but
   * every in-flight change's event sits on the ledger document until flushed, and a document
   * hundreds of events deep makes every write of it slow (FerretDB rewrites whole documents).
   */
  async onLedger<T>(key: string, change: () => Promise<T>): Promise<T> {
    const limit = this.ledgerLimits.get(key) ?? pLimit(LEDGER_CONCURRENCY);
    this.ledgerLimits.set(key, limit);
    try {
      return await limit(() => {
        assertBeforeDeadline(); // waited too long behind other changes: the caller already gave up
        return change();
      });
    } finally {
      if (limit.activeCount === 0 && limit.pendingCount === 0) this.ledgerLimits.delete(key);
    }
  }

  async session(tenantId: string, id: string): Promise<SessionDoc> {
    const session = await this.sessions.get(tenantId, id);
    if (!session) throw new AppError('not_found', 'Session not found');
    this.recentSessions.set(id, { session, until: Date.now() + SESSION_CACHE_MS });
    return session;
  }

  /**
   * The session as read at most 5 s ago, for the booking path (one read less per booking).
   * A deactivation reaches bookings on other replicas within those 5 s; anything that depends
   * on the session's default capacity reads it fresh.
   */
  async recentSession(tenantId: string, id: string): Promise<SessionDoc> {
    const cached = this.recentSessions.get(id);
    if (cached && cached.until > Date.now() && cached.session.tenantId === tenantId) return cached.session;
    if (this.recentSessions.size > 10_000) this.recentSessions.clear();
    return this.session(tenantId, id);
  }

  forgetSession(id: string): void {
    this.recentSessions.delete(id);
  }

  /** A booking the actor may see: another tenant's, or another user's, does not exist for it. */
  async visibleBooking(tenantId: string, id: string, actor: Actor) {
    const booking = await this.bookings.get(tenantId, id);
    if (!booking || (actor.kind === 'user' && booking.userId !== actor.userId)) throw new AppError('not_found', 'Booking not found');
    return booking;
  }

  /**
   * Before a ledger change is announced: the booking it made or changed is written to the
   * queryable copy, a hold gets its durable expiry, and the event carries the slot figures and
   * version of the ledger as the change left it (or, after a crash, as it is now — a consistent
   * pair either way, so read models stay right).
   */
  private async prepareSlotEntry(entry: OutboxEntry, doc: SlotDoc): Promise<EventEnvelope> {
    const effects = (entry.effects ?? {}) as SlotEffects;
    const data = entry.envelope.data as Record<string, unknown>;
    if (effects.rev !== undefined) await this.bookings.materialise(doc.tenantId, data.booking as Booking, effects.rev);
    if (effects.holdExpiry) {
      await this.service.jobs.schedule('hold-expiry', effects.holdExpiry.bookingId, new Date(effects.holdExpiry.dueAt), {
        tenantId: doc.tenantId,
        bookingId: effects.holdExpiry.bookingId,
      });
    }
    return 'slots' in data ? { ...entry.envelope, data: { ...data, slots: snapshotOf(doc) } } : entry.envelope;
  }

  /** A new waitlist entry gets its durable expiry before it is announced. */
  private async prepareQueueEntry(entry: OutboxEntry): Promise<EventEnvelope> {
    const expiry = (entry.effects as { expiry?: { entryId: string; tenantId: string; dueAt: string } } | undefined)?.expiry;
    if (expiry) {
      await this.service.jobs.schedule('queue-expiry', expiry.entryId, new Date(expiry.dueAt), {
        tenantId: expiry.tenantId,
        entryId: expiry.entryId,
      });
    }
    return entry.envelope;
  }
}

/** A booking's next state: what the event and the queryable copy will show. */
export function revise(booking: Booking, changes: Partial<Booking>, at: Date): Booking {
  return { ...booking, ...changes, updatedAt: at.toISOString() };
}

/**
 * The order of a booking's states, used as its revision: bookings only move forward
 * (held → confirmed → cancelled; held → cancelled or expired), so a later state never loses
 * to an earlier one, whatever order the changes are materialised in.
 */
export const stateRank: Record<Booking['status'], number> = { held: 1, confirmed: 2, cancelled: 3, expired: 3 };

/** The tenant of a call; the root key has none and cannot act inside a tenant. */
export function tenantOf(ctx: { tenantId: string | null }): string {
  if (!ctx.tenantId) throw new AppError('forbidden', 'This operation needs a tenant credential');
  return ctx.tenantId;
}

/** A slot snapshot placeholder; the relay fills in the ledger's figures when it announces the event. */
export const pendingSlots = (sessionId: string, date: string) => ({
  sessionId,
  date,
  maxSlots: 0,
  bookedSlots: 0,
  availableSlots: 0,
  version: 0,
});
