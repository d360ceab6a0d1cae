import { type ReportQuery, type ReportRow, type ReportSource, readAhead } from '@allot/kit';
import { periodDays, utilizationPercentage } from './domain/analytics';
import { addDays } from './domain/dates';
import type { ReportRowStore } from './store/report-rows';

/** The longest range whose every date an occupancy report lists (longer: only the dates that have a ledger). */
const MAX_LISTED_DAYS = 366;

/**
 * The `bookings` report: one row per booking dated in the range (a user's report: its own
 * bookings only), read by date through one cursor (reading ahead) and not counted first; session
 * names are looked up once per session.
 */
export const bookingReport = (store: ReportRowStore): ReportSource => ({
  timeOf: (row) => row.date as string,
  // The day after the last ledger in the range: bookings are made through the ledger of their date.
  endOf: async (tenantId, q) => {
    const last = await store.lastLedgerDate(tenantId, q);
    return last ? addDays(last, 1) : null;
  },
  async *rows(tenantId, q) {
    const names = new Map<string, string | null>();
    for await (const b of readAhead(store.bookingCursor(tenantId, q))) {
      if (!names.has(b.sessionId)) names.set(b.sessionId, await store.sessionName(tenantId, b.sessionId));
      yield {
        bookingId: b._id,
        sessionId: b.sessionId,
        sessionName: names.get(b.sessionId) ?? null,
        date: b.date,
        status: b.status,
        adults: b.adults,
        children: b.children,
        slots: b.slots,
        userId: b.userId,
        bookingType: b.bookingType,
        createdAt: b.createdAt,
      } satisfies ReportRow;
    }
  },
});

/**
 * The `occupancy` report: one row per session and date. With both `from` and `to` (at most a
 * year apart) every date of the range is listed, a date nobody booked at the session's default
 * capacity; otherwise the dates that have a ledger. `booked` counts confirmed slots, `held` the
 * slots of holds not yet confirmed; utilization is of both.
 */
export const occupancyReport = (store: ReportRowStore): ReportSource => ({
  async count(tenantId, q) {
    const sessions = await store.countSessions(tenantId, q.sessionId);
    const days = listedDays(q);
    return days ? sessions * days : sessions;
  },
  async *rows(tenantId, q) {
    const days = listedDays(q);
    for await (const session of store.sessionCursor(tenantId, q.sessionId)) {
      const [slots, held, waitlist] = await Promise.all([
        store.slotsOf(tenantId, session._id, q),
        store.heldByDate(tenantId, session._id, q),
        store.waitlistByDate(tenantId, session._id, q),
      ]);
      const byDate = new Map(slots.map((s) => [s.date, s]));
      const dates = days && q.from ? Array.from({ length: days }, (_, i) => addDays(q.from as string, i)) : slots.map((s) => s.date);
      for (const date of dates) {
        const slot = byDate.get(date);
        const capacity = slot?.maxSlots ?? session.maxCapacity;
        const taken = slot?.booked ?? 0;
        const onHold = held.get(date) ?? 0;
        yield {
          sessionId: session._id,
          sessionName: session.name,
          date,
          capacity,
          booked: taken - onHold,
          held: onHold,
          available: slot?.available ?? capacity,
          utilizationPercentage: utilizationPercentage(taken, capacity),
          waitlist: waitlist.get(date) ?? 0,
        } satisfies ReportRow;
      }
    }
  },
});

function listedDays(q: ReportQuery): number | null {
  if (!q.from || !q.to) return null;
  const days = periodDays(q.from, q.to);
  return days <= MAX_LISTED_DAYS ? days : null;
}
