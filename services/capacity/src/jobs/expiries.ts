import { type JobDefinition, job } from '@allot/kit';
import { z } from 'zod';
import { expireHold } from '../bookings';
import type { Capacity } from '../context';
import { expireEntry, processQueue } from '../waitlist';

/**
 * Durable timers (JetStream messages held back until due, so they survive restarts): hold and
 * offer expiry, waitlist expiry. The queue sweep backs them up.
 */
export const expiryJobs = (cap: Capacity): Record<string, JobDefinition> => ({
  'hold-expiry': job(z.object({ tenantId: z.string(), bookingId: z.string() }), async ({ tenantId, bookingId }) => {
    const expired = await expireHold(cap, tenantId, bookingId);
    if (expired) await processQueue(cap, tenantId, expired.sessionId, expired.date); // the freed slots go to the waitlist
  }),
  'queue-expiry': job(z.object({ tenantId: z.string(), entryId: z.string() }), ({ tenantId, entryId }) =>
    expireEntry(cap, tenantId, entryId),
  ),
});
