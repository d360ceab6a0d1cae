/** Availability alerts (services/availability/README.md, Decisions). Pure. */
import type { Availability, AvailabilityAlert } from '@allot/contracts';

/** Fewer slots than this left today is `low_availability`. */
export const LOW_AVAILABILITY_BELOW = 5;
/** More than this share of tomorrow booked is `high_demand`. */
export const HIGH_DEMAND_ABOVE_PERCENT = 80;

/**
 * The alerts of one session from today's and tomorrow's figures. A sold-out day is
 * `no_availability` only: it is not also reported as low.
 */
export function alertsOf(today: Availability, tomorrow: Availability): AvailabilityAlert[] {
  const alerts: AvailabilityAlert[] = [];
  const raise = (type: AvailabilityAlert['type'], day: Availability, message: string) =>
    alerts.push({
      type,
      sessionId: day.sessionId,
      sessionName: day.sessionName,
      date: day.date,
      message,
      availableSlots: day.availableSlots,
      utilizationPercentage: day.utilizationPercentage,
    });
  if (today.availableSlots <= 0) raise('no_availability', today, `No availability for ${today.sessionName} today`);
  else if (today.availableSlots < LOW_AVAILABILITY_BELOW) {
    raise('low_availability', today, `Low availability for ${today.sessionName} today: ${today.availableSlots} left`);
  }
  if (tomorrow.utilizationPercentage > HIGH_DEMAND_ABOVE_PERCENT) {
    raise('high_demand', tomorrow, `High demand for ${tomorrow.sessionName} tomorrow: ${tomorrow.utilizationPercentage}% booked`);
  }
  return alerts;
}
