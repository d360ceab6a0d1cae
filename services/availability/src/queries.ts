import type { Availability as Figures } from '@allot/contracts';
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

export async function availabilityOn(av: Availability, tenantId: string, date: string, sessionId?: string) {
  const sessions = await sessionsOf(av, tenantId, sessionId);
  const of = await figures(av, sessions, [date]);
  const items = sessions.map((s) => of(s, date));
  return sessionId ? (items[0] as Figures) : { items };
}

export async function availabilityRange(av: Availability, tenantId: string, query: { from: string; to: string; sessionId?: string }) {
  const sessions = await sessionsOf(av, tenantId, query.sessionId);
  const range = datesFrom(query.from, query.to);
  const of = await figures(av, sessions, range);
  const dates: Record<string, Figures | { items: Figures[] }> = {};
  for (const date of range) {
    const items = sessions.map((s) => of(s, date));
    dates[date] = query.sessionId ? (items[0] as Figures) : { items };
  }
  return { from: query.from, to: query.to, dates };
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

export async function availabilityAlerts(av: Availability, tenantId: string, sessionId?: string) {
  const sessions = await sessionsOf(av, tenantId, sessionId);
  const today = dateOf(av.clock.now());
  const tomorrow = shiftDate(today, 1);
  const of = await figures(av, sessions, [today, tomorrow]);
  return { items: sessions.flatMap((s) => alertsOf(of(s, today), of(s, tomorrow))) };
}
