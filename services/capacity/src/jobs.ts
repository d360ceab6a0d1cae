import { z } from 'zod';
import { expireHold } from './bookings';
import type { Capacity } from './capacity';
import { expireEntry, processQueue } from './waitlist';

const HoldExpiry = z.object({ tenantId: z.string(), bookingId: z.string() });
const QueueExpiry = z.object({ tenantId: z.string(), entryId: z.string() });

/**
 * Durable timers (JetStream messages held back until due, so they survive restarts): hold and
 * offer expiry, waitlist expiry. A periodic sweep backs them up: it expires overdue entries and
 * processes every waitlist that has free slots, so nothing waits on a lost trigger.
 */
export async function startJobs(cap: Capacity): Promise<() => Promise<void>> {
  await cap.service.runJobs({
    kind: 'hold-expiry',
    handler: async (payload) => {
      const { tenantId, bookingId } = HoldExpiry.parse(payload);
      await expireHold(cap, tenantId, bookingId);
    },
  });
  await cap.service.runJobs({
    kind: 'queue-expiry',
    handler: async (payload) => {
      const { tenantId, entryId } = QueueExpiry.parse(payload);
      await expireEntry(cap, tenantId, entryId);
    },
  });

  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const sweep = async () => {
    for (const entry of await cap.queue.overdue(cap.now().toISOString(), 200)) await expireEntry(cap, entry.tenantId, entry._id);
    for (const w of await cap.queue.waiting(500)) await processQueue(cap, w.tenantId, w.sessionId, w.date);
  };
  const timer = setInterval(() => {
    if (busy) return; // one sweep at a time
    busy = true;
    running = sweep()
      .catch((error) => cap.service.log.warn({ err: error }, 'queue sweep failed; will retry'))
      .finally(() => {
        busy = false;
      });
  }, cap.config.QUEUE_SWEEP_MS);
  timer.unref();
  // Stopping waits for a sweep under way, so it does not outlive the database connection.
  return async () => {
    clearInterval(timer);
    await running;
  };
}
