/**
 * Session analytics (services/capacity/README.md, `GET /v1/sessions/:id/analytics`). Pure: the store gathers the
 * per-date figures and queue entries of the period, these functions turn them into the reply.
 */

import { addDays } from './dates';

/** How far back the analytics period reaches when the client names none. */
const DEFAULT_PERIOD_DAYS = 30;

/** Rounds to 2 decimals, the precision of every percentage and average in the analytics reply. */
function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Mean of `values` to 2 decimals; 0 for none, so an empty period reads as "nothing happened". */
function mean2(values: number[]): number {
  if (values.length === 0) return 0;
  return round2(values.reduce((sum, v) => sum + v, 0) / values.length);
}

/**
 * `booked / capacity × 100` to 2 decimals. A capacity of 0 or less yields 0 rather than
 * Infinity/NaN, which JSON cannot carry.
 */
export function utilizationPercentage(booked: number, capacity: number): number {
  if (capacity <= 0) return 0;
  return round2((booked / capacity) * 100);
}

/** The booked slots and the capacity of one session on one date. */
export interface DayFigures {
  date: string;
  booked: number;
  capacity: number;
}

/**
 * Capacity figures over a period, one `DayFigures` per date. Dates without a booking are left
 * out of both utilization figures (a session nobody booked says nothing about how full it runs);
 * the average is the mean of the per-date (already rounded) utilizations. A shortage day is one
 * with at least one booking that filled its capacity.
 */
export function capacityStats(
  days: DayFigures[],
  maxCapacity: number,
): { maxCapacity: number; averageUtilization: number; peakUtilization: number; shortageDays: number } {
  const bookedDays = days.filter((d) => d.booked >= 1);
  const utilizations = bookedDays.map((d) => utilizationPercentage(d.booked, d.capacity));
  return {
    maxCapacity,
    averageUtilization: mean2(utilizations),
    peakUtilization: utilizations.length === 0 ? 0 : Math.max(...utilizations),
    shortageDays: bookedDays.filter((d) => d.booked >= d.capacity).length,
  };
}

/** What analytics needs of one queue entry: its final status and where it joined the queue. */
export interface QueueFigures {
  status: 'pending' | 'completed' | 'cancelled' | 'expired';
  initialPosition: number;
  initialWaitMinutes: number;
}

/**
 * Queue figures over a period. Averages run over every entry, whatever its status, to 2 decimals;
 * pending entries count in `totalEntries` but have no counter of their own (the reply has none).
 */
export function queueStats(entries: QueueFigures[]): {
  totalEntries: number;
  completed: number;
  cancelled: number;
  expired: number;
  averageWaitMinutes: number;
  averagePosition: number;
} {
  const count = (status: QueueFigures['status']) => entries.filter((e) => e.status === status).length;
  return {
    totalEntries: entries.length,
    completed: count('completed'),
    cancelled: count('cancelled'),
    expired: count('expired'),
    averageWaitMinutes: mean2(entries.map((e) => e.initialWaitMinutes)),
    averagePosition: mean2(entries.map((e) => e.initialPosition)),
  };
}

/** One recommendation of the analytics reply. */
type Recommendation = {
  type: 'increase_capacity' | 'add_session' | 'decrease_capacity';
  message: string;
  priority: 'high' | 'medium' | 'low';
};

/**
 * Advice from the period's figures, in a fixed order: average utilization above 80 → increase
 * capacity (high); more than 20 queue entries → add a session (medium); average below 30 →
 * decrease capacity (low). Every threshold is strict.
 */
export function recommendations(averageUtilization: number, totalQueueEntries: number): Recommendation[] {
  const advice: Recommendation[] = [];
  if (averageUtilization > 80) {
    advice.push({ type: 'increase_capacity', message: 'Consider increasing capacity due to high utilization', priority: 'high' });
  }
  if (totalQueueEntries > 20) {
    advice.push({ type: 'add_session', message: 'Consider adding another session due to high queue demand', priority: 'medium' });
  }
  if (averageUtilization < 30) {
    advice.push({ type: 'decrease_capacity', message: 'Consider decreasing capacity due to low utilization', priority: 'low' });
  }
  return advice;
}

/** The period analytics covers when the client names none: the 30 days before `today`, through `today`. */
export function defaultPeriod(today: string): { from: string; to: string } {
  return { from: addDays(today, -DEFAULT_PERIOD_DAYS), to: today };
}

/**
 * How many dates a period covers, both ends included (0 or less when `from` is after `to`).
 * Counted from its ends, so a period of millions of days costs nothing to check.
 */
export function periodDays(from: string, to: string): number {
  // addDays validates both ends (it throws on a bad date): a malformed bound must not
  // silently turn into an empty or negative period.
  addDays(from, 0);
  addDays(to, 0);
  return (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
}
