import { type Actor, AppError, type Booking, type JoinQueue, type QueueEntry } from '@allot/contracts';
import { newId, toPage } from '@allot/kit';
import type { z } from 'zod';
import { checkHoarding, releaseBooking } from './bookings';
import type { Capacity } from './context';
import { newBooking } from './domain/bookings';
import { isPastDate } from './domain/dates';
import { checkPendingEntries } from './domain/limits';
import { firstFit, orderQueue, positionsOf, queuePriority } from './domain/queue';
import { checkAlerts } from './insights';
import { toBooking } from './store/bookings';
import { type QueueDoc, toQueueEntry } from './store/queue';
import type { SessionDoc } from './store/sessions';

const asQueued = (doc: QueueDoc) => ({ ...doc, id: doc._id });

/** Pending entries of a session/date that have not expired, in queue order. */
async function liveQueue(cap: Capacity, tenantId: string, sessionId: string, date: string) {
  const now = cap.clock.now().toISOString();
  const pending = await cap.queue.pending(tenantId, sessionId, date);
  return orderQueue(pending.filter((e) => e.expiresAt > now).map(asQueued));
}

/** Writes every pending entry's position and estimate after the pending set changed. */
async function recomputePositions(cap: Capacity, tenantId: string, sessionId: string, date: string): Promise<void> {
  const ordered = await liveQueue(cap, tenantId, sessionId, date);
  const positions = positionsOf(ordered, cap.config.QUEUE_MINUTES_PER_POSITION);
  const at = cap.clock.now().toISOString();
  for (const entry of ordered) {
    const p = positions.get(entry.id);
    if (p && (p.position !== entry.position || p.estimatedWaitMinutes !== entry.estimatedWaitMinutes)) {
      await cap.queue.setPosition(entry.id, p.position, p.estimatedWaitMinutes, at);
    }
  }
}

/** A new waitlist entry (promoted at once if it fits); a retry under the same idempotency key returns the first. */
export async function joinQueue(
  cap: Capacity,
  tenantId: string,
  actor: Actor,
  input: z.output<typeof JoinQueue>,
  requestKey?: string,
): Promise<QueueEntry> {
  const session = await cap.sessions.get(tenantId, input.sessionId);
  if (!session.isActive) throw new AppError('session_inactive', 'The session is not taking bookings');
  const now = cap.clock.now();
  if (isPastDate(input.date, now)) {
    throw new AppError('validation_failed', 'The date is in the past', { errors: [{ path: 'date', message: 'must be today or later' }] });
  }
  const userId = actor.kind === 'user' ? actor.userId : (input.userId ?? null);
  await checkHoarding(cap, tenantId, actor, { slots: input.requestedSlots, bookingType: input.bookingType, holdBy: null });
  if (userId) checkPendingEntries(await cap.limits.get(tenantId), await cap.queue.countPendingOf(tenantId, userId));
  const position = (await liveQueue(cap, tenantId, session._id, input.date)).length + 1;
  const estimate = (position - 1) * cap.config.QUEUE_MINUTES_PER_POSITION;
  const expiresAt = new Date(now.getTime() + cap.config.QUEUE_TTL_MINUTES * 60_000).toISOString();
  const id = await cap.requestIds.idFor(requestKey, () => newId('qe'));
  const doc: Omit<QueueDoc, 'outbox'> = {
    _id: id,
    tenantId,
    sessionId: session._id,
    date: input.date,
    requestedSlots: input.requestedSlots,
    userId,
    guestId: input.guestId ?? null,
    bookingType: input.bookingType,
    priority: queuePriority({ userId, bookingType: input.bookingType }),
    status: 'pending',
    position,
    estimatedWaitMinutes: estimate,
    expiresAt,
    bookingId: null,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    initialPosition: position,
    initialWaitMinutes: estimate,
  };
  const { created } = await cap.queue.insert(doc, cap.event(tenantId, 'queue.joined', { entry: toQueueEntry(doc) }));
  if (created) {
    cap.log.info({ entryId: id, sessionId: session._id, date: input.date, from: null, to: 'pending' }, 'queue entry joined');
    // Promotes it if it fits and recomputes positions; the entry is stored, so a failure here is the sweep's.
    await processQueue(cap, tenantId, session._id, input.date).catch((error) =>
      cap.log.warn({ err: error, entryId: id }, 'queue processing failed; the sweep will retry'),
    );
  }
  return toQueueEntry((await cap.queue.find(tenantId, id)) as QueueDoc);
}

/** A pending entry leaves the queue (cancelled by its owner, or expired unserved). */
async function leaveQueue(cap: Capacity, entry: QueueDoc, status: 'cancelled' | 'expired'): Promise<QueueDoc | null> {
  const set = { status, position: null, estimatedWaitMinutes: null, updatedAt: cap.clock.now().toISOString() };
  const event = cap.event(entry.tenantId, `queue.${status}`, { entry: toQueueEntry({ ...entry, ...set }) });
  const left = await cap.queue.leave(entry._id, set, event);
  if (!left) return null;
  cap.log.info({ entryId: entry._id, from: 'pending', to: status }, `queue entry ${status}`);
  await recomputePositions(cap, entry.tenantId, entry.sessionId, entry.date).catch((error) =>
    cap.log.warn({ err: error, entryId: entry._id }, 'recomputing positions failed; the next change recomputes them'),
  );
  return left;
}

export async function cancelEntry(cap: Capacity, tenantId: string, actor: Actor, id: string): Promise<QueueEntry> {
  const entry = await cap.queue.visible(tenantId, id, actor);
  if (entry.status !== 'pending') throw new AppError('invalid_state', `A ${entry.status} entry cannot be cancelled`);
  const left = await leaveQueue(cap, entry, 'cancelled');
  if (!left) throw new AppError('invalid_state', 'The entry is no longer pending');
  const session = await cap.sessions.find(tenantId, entry.sessionId);
  if (session)
    await checkAlerts(cap, tenantId, session, entry.date).catch((error) => cap.log.warn({ err: error }, 'checking alerts failed'));
  return toQueueEntry(left);
}

/** The queue-expiry job: an entry still pending at its expiry leaves the queue. */
export async function expireEntry(cap: Capacity, tenantId: string, entryId: string): Promise<void> {
  const entry = await cap.queue.find(tenantId, entryId);
  if (entry?.status === 'pending') await leaveQueue(cap, entry, 'expired');
}

/** The promoted entry is marked completed with its booking; null if it left the queue meanwhile. */
async function completeEntry(cap: Capacity, entry: QueueDoc, booking: Booking) {
  const set = {
    status: 'completed' as const,
    bookingId: booking.id,
    position: null,
    estimatedWaitMinutes: null,
    updatedAt: cap.clock.now().toISOString(),
  };
  const event = cap.event(entry.tenantId, 'queue.promoted', { entry: toQueueEntry({ ...entry, ...set }), booking });
  return cap.queue.leave(entry._id, set, event);
}

/**
 * The booking an entry becomes. Its id follows from the entry's, so the ledger recognises a
 * second promotion of the same entry (racing processors, a retry after a crash) as a duplicate:
 * an entry becomes at most one booking.
 */
export const promotedBookingId = (entryId: string) => `bk_${entryId.slice(entryId.indexOf('_') + 1)}`;

/** Turns one entry into a booking and completes the entry; false if its slots were not there. */
async function promote(cap: Capacity, session: SessionDoc, entry: QueueDoc): Promise<boolean> {
  const now = cap.clock.now();
  const offer = session.queuePromotion === 'offer';
  const booking = newBooking(
    {
      id: promotedBookingId(entry._id),
      sessionId: entry.sessionId,
      date: entry.date,
      adults: entry.requestedSlots,
      children: 0,
      bookingType: entry.bookingType,
      userId: entry.userId,
      status: offer ? 'held' : 'confirmed',
      source: 'queue',
      queueEntryId: entry._id,
      holdExpiresAt: offer ? new Date(now.getTime() + session.offerMinutes * 60_000).toISOString() : null,
    },
    now,
  );
  const place = {
    tenantId: entry.tenantId,
    sessionId: entry.sessionId,
    date: entry.date,
    defaultCapacity: async () => session.maxCapacity,
  };
  const taken = await cap.ledger.take(place, booking, true);
  if (!taken.ok) return false;
  return settlePromotion(cap, entry, taken.booking ?? booking);
}

/**
 * Completes an entry with the booking it became. If the entry left the queue meanwhile
 * (cancelled or expired), the booking gives its slots back (the next round offers them on).
 */
async function settlePromotion(cap: Capacity, entry: QueueDoc, booking: Booking): Promise<boolean> {
  if (await completeEntry(cap, entry, booking)) {
    cap.log.info({ entryId: entry._id, bookingId: booking.id, from: 'pending', to: 'completed' }, 'queue entry promoted');
    return true;
  }
  const current = await cap.queue.find(entry.tenantId, entry._id);
  if (current?.status === 'completed' && current.bookingId === booking.id) return true; // another processor completed it
  await releaseBooking(cap, entry.tenantId, booking, 'cancelled', ['held', 'confirmed']);
  return false;
}

/**
 * Walks the pending, unexpired entries in queue order and promotes every one whose requested
 * slots fit into what is left (first fit). Safe to run concurrently and repeatedly: the ledger
 * decides, and an entry already turned into a booking (a crash before its completion) is
 * completed instead of promoted again.
 */
export async function processQueue(cap: Capacity, tenantId: string, sessionId: string, date: string): Promise<number> {
  const session = await cap.sessions.find(tenantId, sessionId);
  if (!session) return 0;
  let promoted = 0;
  // Each round works from fresh figures: a processor racing this one may have taken slots or
  // entries, and what it left is offered in the next round. Rounds end when nothing fits.
  for (let round = 0; round < 100; round++) {
    const slot = await cap.ledger.ensure(tenantId, sessionId, date, session.maxCapacity);
    const ordered = await liveQueue(cap, tenantId, sessionId, date);
    const made = await cap.bookings.existing(
      tenantId,
      ordered.map((e) => promotedBookingId(e.id)),
    );
    for (const doc of made) {
      const entry = ordered.find((e) => promotedBookingId(e.id) === doc._id);
      if (entry) await settlePromotion(cap, entry, toBooking(doc));
    }
    const candidates = firstFit(
      ordered.filter((e) => !made.some((doc) => doc._id === promotedBookingId(e.id))),
      slot.available,
    );
    if (candidates.length === 0) break;
    for (const entry of candidates) if (await promote(cap, session, entry)) promoted++;
  }
  await recomputePositions(cap, tenantId, sessionId, date);
  await checkAlerts(cap, tenantId, session, date);
  return promoted;
}

/** The waitlist as it stands (positions computed, not written: a read changes nothing). */
export async function queueStatus(
  cap: Capacity,
  tenantId: string,
  { sessionId, date, limit, cursor }: { sessionId: string; date: string; limit: number; cursor?: string | undefined },
) {
  const after = cursor === undefined ? 0 : Number(cursor);
  if (!Number.isSafeInteger(after) || after < 0) {
    throw new AppError('validation_failed', 'Invalid request: cursor is not one this list gave', {
      errors: [{ path: 'cursor', message: 'is not one this list gave' }],
    });
  }
  await cap.sessions.get(tenantId, sessionId);
  const ordered = await liveQueue(cap, tenantId, sessionId, date);
  const positions = positionsOf(ordered, cap.config.QUEUE_MINUTES_PER_POSITION);
  const entries = ordered.map((e) => {
    const p = positions.get(e.id) ?? { position: 0, estimatedWaitMinutes: 0 };
    return {
      id: e.id,
      position: p.position,
      requestedSlots: e.requestedSlots,
      priority: e.priority,
      estimatedWaitMinutes: p.estimatedWaitMinutes,
      expiresAt: e.expiresAt,
    };
  });
  const waits = entries.map((e) => e.estimatedWaitMinutes);
  // The cursor is a position, not an entry: an entry promoted or gone meanwhile cannot lose the reader's place.
  const page = toPage(
    entries.filter((e) => e.position > after),
    limit,
    (e) => e,
    { cursorOf: (e) => String(e.position) },
  );
  return {
    totalInQueue: entries.length,
    totalRequestedSlots: entries.reduce((sum, e) => sum + e.requestedSlots, 0),
    averageWaitMinutes: waits.length ? Math.round((waits.reduce((a, b) => a + b, 0) / waits.length) * 100) / 100 : 0,
    entries: page.items,
    nextCursor: page.nextCursor,
  };
}
