import type { JobDefinition } from '@allot/kit';
import { expireHold } from '../bookings';
import type { Capacity } from '../context';
import { holdExpiry, queueExpiry } from '../job-kinds';
import { expireEntry, processQueue } from '../waitlist';

/**
 * Durable timers (jobs kept in the database until due, so they survive restarts): hold and
 * offer expiry, waitlist expiry. The queue sweep backs them up.
 */
export const expiryJobs = (cap: Capacity): JobDefinition[] => [
  holdExpiry.handle(async ({ tenantId, bookingId }) => {
    const expired = await expireHold(cap, tenantId, bookingId);
    if (expired) await processQueue(cap, tenantId, expired.sessionId, expired.date); // the freed slots go to the waitlist
  }),
  queueExpiry.handle(({ tenantId, entryId }) => expireEntry(cap, tenantId, entryId)),
];
