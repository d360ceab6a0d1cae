import { AppError, type CapacityAdjusted, type CreateSession, type Session, type UpdateSession } from '@allot/contracts';
import { newId } from '@allot/kit';
import type { z } from 'zod';
import type { Capacity } from './context';
import { todayUtc } from './domain/dates';
import { type SessionDoc, toSession } from './store/sessions';
import { processQueue } from './waitlist';

/** A new session; a retry under the same idempotency key returns the first one. An import gives its external id. */
export async function createSession(
  cap: Capacity,
  tenantId: string,
  input: z.output<typeof CreateSession> & { externalId?: string },
  requestKey?: string,
): Promise<Session> {
  const now = cap.clock.now().toISOString();
  const session: Session = { id: await cap.requestIds.idFor(requestKey, () => newId('ses')), ...input, createdAt: now, updatedAt: now };
  return toSession(await cap.sessions.insert(tenantId, session, cap.event(tenantId, 'session.created', { session, sessionVersion: 1 })));
}

export async function updateSession(cap: Capacity, tenantId: string, id: string, patch: z.output<typeof UpdateSession>): Promise<Session> {
  const doc = await cap.sessions.change(tenantId, id, (current) => {
    const set: Partial<SessionDoc> = { ...patch, updatedAt: cap.clock.now().toISOString() };
    const session = toSession({ ...current, ...set });
    return { set, event: cap.event(tenantId, 'session.updated', { session, sessionVersion: current.version + 1 }) };
  });
  return toSession(doc);
}

type Adjust = { maxCapacity: number; date?: string; reason?: string };

function belowBooked(dates: { date: string; bookedSlots: number }[], capacity: number) {
  return new AppError('capacity_below_booked', `Capacity ${capacity} is below the booked slots of ${dates.map((d) => d.date).join(', ')}`, {
    dates,
  });
}

/**
 * With a date: that date's capacity. Without: the session's default, applied to every date from
 * today on that has no override of its own (past dates keep theirs). Lowering below what a date
 * has booked is refused with the dates, and then nothing is written: a date's change is decided
 * against its ledger, and a new default is checked against every affected date first. A raise
 * feeds the waitlists.
 */
export async function setCapacity(
  cap: Capacity,
  tenantId: string,
  sessionId: string,
  input: Adjust,
): Promise<z.output<typeof CapacityAdjusted>> {
  const session = await cap.sessions.get(tenantId, sessionId);
  const reason = input.reason ?? null;
  const to = input.maxCapacity;
  const place = (date: string) => ({ tenantId, sessionId, date, defaultCapacity: async () => session.maxCapacity });

  if (input.date) {
    const result = await cap.ledger.adjust(place(input.date), to, 'date', reason);
    if (!result.ok) throw belowBooked([{ date: input.date, bookedSlots: result.booked }], to);
    const from = result.from ?? to;
    cap.log.info({ sessionId, date: input.date, from, to }, 'capacity set');
    if (to > from) await feedWaitlists(cap, tenantId, sessionId, [input.date]);
    return { sessionId, date: input.date, oldCapacity: from, newCapacity: to, reason };
  }

  const from = session.maxCapacity;
  const today = todayUtc(cap.clock.now());
  const over = (await cap.ledger.listForSession(tenantId, sessionId, today)).filter((s) => !s.override && s.booked > to);
  if (over.length > 0) {
    throw belowBooked(
      over.map((s) => ({ date: s.date, bookedSlots: s.booked })),
      to,
    );
  }
  // The default first, so every ledger created from now on starts at it; then the dates that exist.
  await cap.sessions.change(tenantId, sessionId, (current) => ({
    set: { maxCapacity: to, updatedAt: cap.clock.now().toISOString() },
    event: cap.event(tenantId, 'capacity.adjusted', {
      sessionId,
      date: null,
      oldCapacity: from,
      newCapacity: to,
      reason,
      slots: null,
      sessionVersion: current.version + 1,
    }),
  }));
  cap.log.info({ sessionId, from, to }, 'default capacity set');
  const grown: string[] = [];
  for (const slot of await cap.ledger.listForSession(tenantId, sessionId, today)) {
    if (slot.override || slot.maxSlots === to) continue;
    const result = await cap.ledger.adjust(place(slot.date), to, 'default', reason);
    if (result.ok && (result.from ?? to) < to) grown.push(slot.date);
    // A booking that raced past the check keeps that date at its capacity (the next default change tries again).
    if (!result.ok && result.reason === 'below_booked')
      cap.log.warn({ sessionId, date: slot.date, booked: result.booked, to }, 'a date kept its capacity');
  }
  if (to > from) await feedWaitlists(cap, tenantId, sessionId, grown);
  return { sessionId, date: null, oldCapacity: from, newCapacity: to, reason };
}

/** Offers grown capacity to the waitlists; the change is already made, so a failure here is the sweep's to retry. */
async function feedWaitlists(cap: Capacity, tenantId: string, sessionId: string, dates: string[]): Promise<void> {
  for (const date of dates) {
    await processQueue(cap, tenantId, sessionId, date).catch((error) =>
      cap.log.warn({ err: error, sessionId, date }, 'queue processing failed; the sweep will retry'),
    );
  }
}
