import { every } from '@allot/kit';
import type { Capacity } from '../context';
import { expireEntry, processQueue } from '../waitlist';

/**
 * The backstop of the timers and triggers: expires overdue waitlist entries and processes every
 * waitlist that has entries, so nothing waits on a lost trigger.
 */
export const queueSweep = (cap: Capacity) =>
  every(cap.config.QUEUE_SWEEP_MS, 'queue-sweep', async () => {
    for (const entry of await cap.queue.overdue(cap.clock.now().toISOString(), 200)) await expireEntry(cap, entry.tenantId, entry._id);
    for (const w of await cap.queue.waiting(500)) await processQueue(cap, w.tenantId, w.sessionId, w.date);
  });
