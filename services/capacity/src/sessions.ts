import { AppError, type CapacityAdjusted, type CreateSession, type Session, type UpdateSession } from '@allot/contracts';
import { newId } from '@allot/kit';
import type { z } from 'zod';
import type { Capacity } from './context';
import { todayUtc } from './domain/dates';
import { type SessionDoc, toSession } from './store/sessions';
import type { SlotDoc } from './store/slots';
import { processQueue } from './waitlist';

export async function createSession(cap: Capacity, tenantId: string, input: z.output<typeof CreateSession>): Promise<Session> {
  const now = cap.clock.now().toISOString();
  const session: Session = { id: newId('ses'), ...input, createdAt: now, updatedAt: now };
  await cap.sessions.insert(tenantId, session, cap.event(tenantId, 'session.created', { session }));
  return session;
}

export async function updateSession(cap: Capacity, tenantId: string, id: string, patch: z.output<typeof UpdateSession>): Promise<Session> {
  const current = await cap.sessions.get(tenantId, id);
  const set: Partial<SessionDoc> = { ...patch, updatedAt: cap.clock.now().toISOString() };
  const event = cap.event(tenantId, 'session.updated', { session: toSession({ ...current, ...set }) });
  const doc = await cap.sessions.update(tenantId, id, set, event);
  if (!doc) throw new AppError('not_found', 'Session not found');
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
 * has booked is refused with the dates, and then nothing is changed. A raise feeds the waitlists.
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

  if (input.date) {
    const slot = await cap.ledger.ensure(tenantId, sessionId, input.date, session.maxCapacity);
    const doc = await cap.ledger.adjust(slot, to, 'date', reason);
    if (!doc) {
      const now = await cap.ledger.byId(slot._id);
      throw belowBooked([{ date: input.date, bookedSlots: now?.booked ?? slot.booked }], to);
    }
    if (to > slot.maxSlots) await processQueue(cap, tenantId, sessionId, input.date);
    return { sessionId, date: input.date, oldCapacity: slot.maxSlots, newCapacity: to, reason };
  }

  const from = session.maxCapacity;
  const today = todayUtc(cap.clock.now());
  const affected = (await cap.ledger.listForSession(tenantId, sessionId, today)).filter((s) => !s.override);
  const over = affected.filter((s) => s.booked > to);
  if (over.length > 0)
    throw belowBooked(
      over.map((s) => ({ date: s.date, bookedSlots: s.booked })),
      to,
    );

  const changed: { doc: SlotDoc; from: number }[] = [];
  for (const slot of affected) {
    const doc = await cap.ledger.adjust(slot, to, 'default', reason);
    if (doc) {
      changed.push({ doc, from: slot.maxSlots });
      continue;
    }
    const now = await cap.ledger.byId(slot._id);
    if (now?.override) continue; // an override was set meanwhile: that date is no longer affected
    // A booking raced in above the new capacity: undo what was changed, change nothing.
    for (const done of changed) await cap.ledger.adjust(done.doc, done.from, 'default', reason);
    throw belowBooked([{ date: slot.date, bookedSlots: now?.booked ?? slot.booked }], to);
  }

  const event = cap.event(tenantId, 'capacity.adjusted', {
    sessionId,
    date: null,
    oldCapacity: from,
    newCapacity: to,
    reason,
    slots: null,
  });
  await cap.sessions.update(tenantId, sessionId, { maxCapacity: to, updatedAt: cap.clock.now().toISOString() }, event);
  // Ledgers created from the old default while this ran follow the new one too.
  for (const late of await cap.ledger.listForSession(tenantId, sessionId, today)) {
    if (!late.override && late.maxSlots !== to && !changed.some((c) => c.doc._id === late._id)) {
      const doc = await cap.ledger.adjust(late, to, 'default', reason);
      if (doc) changed.push({ doc, from: late.maxSlots });
    }
  }
  if (to > from) for (const { doc } of changed) await processQueue(cap, tenantId, sessionId, doc.date);
  return { sessionId, date: null, oldCapacity: from, newCapacity: to, reason };
}
