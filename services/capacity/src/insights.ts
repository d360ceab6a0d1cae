import { AppError, type CapacityAlert } from '@allot/contracts';
import { toPage } from '@allot/kit';
import type { Capacity } from './context';
import { type AlertFigures, alertConditions, alertFlips, alertTypes, describeAlert } from './domain/alerts';
import { capacityStats, defaultPeriod, periodDays, queueStats, recommendations, utilizationPercentage } from './domain/analytics';
import { todayUtc } from './domain/dates';
import type { SessionDoc } from './store/sessions';
import type { SlotDoc } from './store/slots';

/** Slot figures of a session/date: its ledger, or the session's default if nobody booked yet. */
async function figuresOf(cap: Capacity, tenantId: string, session: SessionDoc, date: string, known?: SlotDoc) {
  const slot = known ?? (await cap.ledger.find(tenantId, session._id, date));
  const maxSlots = slot?.maxSlots ?? session.maxCapacity;
  const booked = slot?.booked ?? 0;
  return { slot, maxSlots, booked, available: slot?.available ?? maxSlots };
}

export async function checkCapacity(cap: Capacity, tenantId: string, input: { sessionId: string; date: string; slots: number }) {
  const session = await cap.sessions.get(tenantId, input.sessionId);
  const { available } = await figuresOf(cap, tenantId, session, input.date);
  const availableSlots = Math.max(0, available);
  if (availableSlots >= input.slots) return { status: 'available' as const, availableSlots, canBook: true };
  const position = (await cap.queue.countPending(tenantId, session._id, input.date)) + 1;
  return {
    status: 'queue_required' as const,
    availableSlots,
    canBook: false,
    queuePosition: position,
    estimatedWaitMinutes: (position - 1) * cap.config.QUEUE_MINUTES_PER_POSITION,
  };
}

async function alertFigures(cap: Capacity, tenantId: string, session: SessionDoc, date: string, known?: SlotDoc) {
  const { slot, maxSlots, booked, available } = await figuresOf(cap, tenantId, session, date, known);
  const figures: AlertFigures = {
    utilizationPercentage: utilizationPercentage(booked, maxSlots),
    pendingEntries: await cap.queue.countPending(tenantId, session._id, date),
    availableSlots: available,
  };
  return { figures, slot };
}

/**
 * Raises `alert.raised` when a session/date crosses an alert threshold (and re-arms it when the
 * condition clears): the ledger remembers each condition, so a flip is recorded, and announced,
 * once however many changes race. `known` is the ledger as the caller's update left it.
 */
export async function checkAlerts(cap: Capacity, tenantId: string, session: SessionDoc, date: string, known?: SlotDoc): Promise<void> {
  // Only utilization can cross its threshold while slots are left and the queue did not change
  // (a booking): then the queue need not be counted.
  if (known && known.available > 0 && !known.alerts?.capacity_shortage) {
    const utilization = utilizationPercentage(known.booked, known.maxSlots);
    const raised = alertConditions({
      utilizationPercentage: utilization,
      pendingEntries: 0,
      availableSlots: known.available,
    }).high_utilization;
    if (raised === Boolean(known.alerts?.high_utilization)) return;
  }
  const { figures, slot } = await alertFigures(cap, tenantId, session, date, known);
  if (!slot) return;
  for (const { type, raised } of alertFlips(slot.alerts ?? {}, alertConditions(figures))) {
    const event = raised
      ? cap.event(tenantId, 'alert.raised', describeAlert(type, { id: session._id, name: session.name }, date, figures))
      : undefined;
    await cap.ledger.flipAlert(slot._id, type, raised, event);
  }
}

/** The alerts of one session today. */
async function alertsToday(cap: Capacity, tenantId: string, session: SessionDoc, today: string): Promise<CapacityAlert[]> {
  const { figures } = await alertFigures(cap, tenantId, session, today);
  const conditions = alertConditions(figures);
  return alertTypes
    .filter((type) => conditions[type])
    .map((type) => describeAlert(type, { id: session._id, name: session.name }, today, figures));
}

/**
 * Today's alerts of one session, or of a page of the active sessions in id order (`limit`
 * sessions at most; a page may hold no alert and still have a next one).
 */
export async function currentAlerts(
  cap: Capacity,
  tenantId: string,
  { sessionId, limit, cursor }: { sessionId?: string | undefined; limit: number; cursor?: string | undefined },
): Promise<{ items: CapacityAlert[]; nextCursor: string | null }> {
  const today = todayUtc(cap.clock.now());
  if (sessionId) return { items: await alertsToday(cap, tenantId, await cap.sessions.get(tenantId, sessionId), today), nextCursor: null };
  const sessions = await cap.sessions.list(tenantId, { active: true, limit: limit + 1, after: cursor });
  const alerts = new Map<string, CapacityAlert[]>();
  for (const session of sessions.slice(0, limit)) alerts.set(session._id, await alertsToday(cap, tenantId, session, today));
  const page = toPage(sessions, limit, (session) => alerts.get(session._id) ?? [], { cursorOf: (session) => session._id });
  return { items: page.items.flat(), nextCursor: page.nextCursor };
}

const MAX_PERIOD_DAYS = 366;

export async function sessionAnalytics(cap: Capacity, tenantId: string, input: { sessionId: string; from?: string; to?: string }) {
  const session = await cap.sessions.get(tenantId, input.sessionId);
  // Default: the last 30 days, ending today or at `to`.
  const to = input.to ?? todayUtc(cap.clock.now());
  const from = input.from ?? defaultPeriod(to).from;
  const days = periodDays(from, to);
  if (days < 1 || days > MAX_PERIOD_DAYS) {
    throw new AppError('validation_failed', 'Invalid period', {
      errors: [{ path: 'from', message: `must be on or before to, at most ${MAX_PERIOD_DAYS} days apart` }],
    });
  }
  const slots = await cap.ledger.listForSession(tenantId, session._id, from, to);
  const capacity = capacityStats(
    slots.map((s) => ({ date: s.date, booked: s.booked, capacity: s.maxSlots })),
    session.maxCapacity,
  );
  const entries = await cap.queue.inPeriod(tenantId, session._id, from, to);
  const queue = queueStats(
    entries.map((e) => ({ status: e.status, initialPosition: e.initialPosition, initialWaitMinutes: e.initialWaitMinutes })),
  );
  return {
    sessionId: session._id,
    sessionName: session.name,
    period: { from, to },
    capacityStats: capacity,
    queueStats: queue,
    recommendations: recommendations(capacity.averageUtilization, queue.totalEntries),
  };
}
