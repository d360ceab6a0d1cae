import { every } from '@allot/kit';
import { expireHold, returnSlots } from '../bookings';
import type { Capacity } from '../context';
import { expireEntry, processQueue } from '../waitlist';

/**
 * The backstop of the timers and triggers, so nothing waits on a lost one: finishes ledger
 * changes a crash left half done, gives back the slots of bookings released but not yet
 * returned, expires overdue holds and waitlist entries, and processes every waitlist that has
 * entries.
 */
export const queueSweep = (cap: Capacity) =>
  every(cap.config.QUEUE_SWEEP_MS, 'queue-sweep', async () => {
    const now = cap.clock.now();
    await cap.ledger.finishStale(cap.config.REPAIR_AFTER_MS);
    for (const doc of await cap.bookings.releasingSince(new Date(now.getTime() - cap.config.REPAIR_AFTER_MS).toISOString(), 200)) {
      const { _id, tenantId, releasing: _r, outbox: _o, ...rest } = doc;
      if (rest.status === 'cancelled' || rest.status === 'expired')
        await returnSlots(cap, tenantId, { ...rest, id: _id, status: rest.status });
    }
    for (const hold of await cap.bookings.heldDue(now.toISOString(), 200)) {
      const expired = await expireHold(cap, hold.tenantId, hold._id);
      if (expired) await processQueue(cap, hold.tenantId, expired.sessionId, expired.date);
    }
    for (const entry of await cap.queue.overdue(now.toISOString(), 200)) await expireEntry(cap, entry.tenantId, entry._id);
    for (const w of await cap.queue.waiting(500)) await processQueue(cap, w.tenantId, w.sessionId, w.date);
  });
