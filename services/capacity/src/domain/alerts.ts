/**
 * Capacity alerts (services/capacity/README.md, `GET /v1/capacity/alerts` and the `alert.raised` event). Pure: the
 * caller supplies today's figures of a session and the alert state it last saw.
 */

import { type CapacityAlert, CapacityAlertType } from '@allot/contracts';

/** Every alert type, in the order alerts are reported. */
export const alertTypes: readonly CapacityAlertType[] = CapacityAlertType.options;

/** Utilization (percent) above which a session is running hot. */
const HIGH_UTILIZATION_ABOVE = 90;

/** Pending entries above which the waitlist counts as long. */
const LONG_QUEUE_ABOVE = 10;

/** The figures of one session on one date that alerts are judged by. */
export interface AlertFigures {
  utilizationPercentage: number;
  pendingEntries: number;
  availableSlots: number;
}

/**
 * Which alerts hold for `f`: `high_utilization` above 90 %, `long_queue` above 10 pending
 * entries, `capacity_shortage` when nothing is free (0 or, after a capacity cut, less) while
 * someone waits. All thresholds are strict.
 */
export function alertConditions(f: AlertFigures): Record<CapacityAlertType, boolean> {
  return {
    high_utilization: f.utilizationPercentage > HIGH_UTILIZATION_ABOVE,
    long_queue: f.pendingEntries > LONG_QUEUE_ABOVE,
    capacity_shortage: f.availableSlots <= 0 && f.pendingEntries > 0,
  };
}

/** The human-readable line of each alert type. */
function alertMessage(type: CapacityAlertType, sessionName: string, f: AlertFigures): string {
  switch (type) {
    case 'high_utilization':
      return `High utilization (${f.utilizationPercentage}%) for ${sessionName}`;
    case 'long_queue':
      return `Long queue (${f.pendingEntries} entries) for ${sessionName}`;
    case 'capacity_shortage':
      return `Capacity shortage for ${sessionName} with ${f.pendingEntries} in queue`;
  }
}

/**
 * The `CapacityAlert` of `type` for a session on `date`. Every alert carries all three figures,
 * so a client can show the context of any alert without a second request.
 */
export function describeAlert(
  type: CapacityAlertType,
  session: { id: string; name: string },
  date: string,
  f: AlertFigures,
): CapacityAlert {
  return {
    type,
    sessionId: session.id,
    sessionName: session.name,
    date,
    message: alertMessage(type, session.name, f),
    utilizationPercentage: f.utilizationPercentage,
    pendingEntries: f.pendingEntries,
    availableSlots: f.availableSlots,
  };
}

/** An alert condition that changed: raised (announced) or cleared (re-armed, silently). */
export interface AlertFlip {
  type: CapacityAlertType;
  raised: boolean;
}

/**
 * The alert conditions whose state differs between `before` (a missing entry counts as not
 * holding) and `now`, in report order. Edge-triggered, so `alert.raised` fires once when a
 * threshold is crossed rather than on every change while it stays crossed; clearing re-arms it,
 * so crossing again raises it again.
 */
export function alertFlips(before: Partial<Record<CapacityAlertType, boolean>>, now: Record<CapacityAlertType, boolean>): AlertFlip[] {
  return alertTypes.filter((type) => now[type] !== (before[type] === true)).map((type) => ({ type, raised: now[type] }));
}
