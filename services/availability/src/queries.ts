import type { Availability as Figures } from '@allot/contracts';
import { toPage } from '@allot/kit';
import type { Availability } from './context';
import { alertsOf } from './domain/alerts';
import { dateOf, datesFrom, lastDates, shiftDate } from './domain/calendar';
import { availabilityOf, type SessionState, slotKey } from './domain/model';

/** The availability of each session on each date, from the cache (one database read for what it lacks). */
async function figures(av: Availability, sessions: SessionState[], dates: string[]) {
  const pairs = sessions.flatMap((s) => dates.map((date) => ({ sessionId: s.sessionId, date })));
  const slots = await av.cache.slotsOf(pairs);
  return (session: SessionState, date: string) => availabilityOf(session, date, slots.get(slotKey(session.sessionId, date)));
}

/** The one session asked for, or the tenant's active sessions. */
const sessionsOf = async (av: Availability, tenantId: string, sessionId?: string) =>
  sessionId ? [await av.cache.session(tenantId, sessionId)] : av.cache.activeSessions(tenantId);

interface SessionPage {
  limit: number;
  cursor?: string | undefined;
}

/**
 * A page of the tenant's active sessions, each with its figures on `dates` (a row): at most
 * `limit` sessions after `cursor`, in id order, and no more than the page's byte budget holds,
 * so an answer stays far below what one message carries whatever the number of sessions.
 */
async function sessionRows(av: Availability, tenantId: string, dates: string[], { limit, cursor }: SessionPage) {
  const after = (await av.cache.activeSessions(tenantId)).filter((s) => !cursor || s.sessionId > cursor).slice(0, limit + 1);
  const of = await figures(av, after.slice(0, limit), dates);
  return toPage(after, limit, (session) => dates.map((date) => of(session, date)), { cursorOf: (session) => session.sessionId });
}

/** A page of the active sessions' figures on `date`. */
export async function pageOn(av: Availability, tenantId: string, date: string, page: SessionPage) {
  const rows = await sessionRows(av, tenantId, [date], page);
  return { items: rows.items.map(([figures]) => figures as Figures), nextCursor: rows.nextCursor };
}

/** One session's figures on `date`, or a page of the active sessions'. */
export async function availabilityOn(av: Availability, tenantId: string, query: { date: string; sessionId?: string } & SessionPage) {
  if (!query.sessionId) return pageOn(av, tenantId, query.date, query);
  const session = await av.cache.session(tenantId, query.sessionId);
  return (await figures(av, [session], [query.date]))(session, query.date);
}

/** Every active session's figures on `date` (or the one asked for), for work inside the service. */
export async function allOn(av: Availability, tenantId: string, date: string, sessionId?: string) {
  const sessions = await sessionsOf(av, tenantId, sessionId);
  const of = await figures(av, sessions, [date]);
  return sessions.map((s) => of(s, date));
}

/** Each date of a range: one session's figures, or a page of the active sessions' (see `sessionRows`). */
export async function availabilityRange(
  av: Availability,
  tenantId: string,
  query: { from: string; to: string; sessionId?: string } & SessionPage,
) {
  const range = datesFrom(query.from, query.to);
  const dates: Record<string, Figures | { items: Figures[] }> = {};
  if (query.sessionId) {
    const session = await av.cache.session(tenantId, query.sessionId);
    const of = await figures(av, [session], range);
    for (const date of range) dates[date] = of(session, date);
    return { from: query.from, to: query.to, dates, nextCursor: null };
  }
  const page = await sessionRows(av, tenantId, range, query);
  range.forEach((date, i) => {
    dates[date] = { items: page.items.map((row) => row[i] as Figures) };
  });
  return { from: query.from, to: query.to, dates, nextCursor: page.nextCursor };
}

export async function availabilityTrends(av: Availability, tenantId: string, sessionId: string, days: number) {
  const session = await av.cache.session(tenantId, sessionId);
  const dates = lastDates(av.clock.now(), days);
  const of = await figures(av, [session], dates);
  return dates.map((date) => {
    const { bookedSlots, availableSlots, utilizationPercentage } = of(session, date);
    return { date, bookedSlots, availableSlots, utilizationPercentage };
  });
}

/** Hours of the day (UTC) in which the last `days` days' confirmed bookings were made, busiest first. */
export async function peakHours(av: Availability, tenantId: string, sessionId: string, days: number) {
  await av.cache.session(tenantId, sessionId);
  const since = new Date(av.clock.now().getTime() - days * 86_400_000).toISOString();
  const hours = await av.store.bookingsByHour(tenantId, sessionId, since);
  return hours.sort((a, b) => b.bookingCount - a.bookingCount || a.hour - b.hour);
}

/** Alerts of one session, or of a page of the active sessions (a page may hold none, yet have a next). */
export async function availabilityAlerts(av: Availability, tenantId: string, query: { sessionId?: string } & SessionPage) {
  const today = dateOf(av.clock.now());
  const tomorrow = shiftDate(today, 1);
  if (query.sessionId) {
    const session = await av.cache.session(tenantId, query.sessionId);
    const of = await figures(av, [session], [today, tomorrow]);
    return { items: alertsOf(of(session, today), of(session, tomorrow)), nextCursor: null };
  }
  const page = await sessionRows(av, tenantId, [today, tomorrow], query);
  return { items: page.items.flatMap(([now, next]) => alertsOf(now as Figures, next as Figures)), nextCursor: page.nextCursor };
}
