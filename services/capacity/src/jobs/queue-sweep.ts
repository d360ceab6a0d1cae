import { every, ScanPace } from '@allot/kit';
import { expireHold, returnSlots } from '../bookings';
import type { Capacity } from '../context';
import { expireEntry, processQueue } from '../waitlist';

/**
 * How often, at least, the backstop that reads through every booking runs after the first sweep
 * (less often after a long read: `ScanPace`): on FerretDB such a query decodes each booking (so
 * releases and holds are looked for in one read), and it only finds what a crash or a failed
 * step left (hold expiry is a durable job; a release finishes in its own request).
 */
const BOOKING_SCAN_MS = 30_000;

/**
 * The backstop of the timers and triggers, so nothing waits on a lost one: finishes ledger
 * changes a crash left half done, gives back the slots of bookings released but not yet
 * returned, expires overdue holds and waitlist entries, and processes every waitlist that has
 * entries.
 */
export const queueSweep = (cap: Capacity) => {
  const bookingScans = new ScanPace(BOOKING_SCAN_MS);
  return every(cap.config.QUEUE_SWEEP_MS, 'queue-sweep', async () => {
    const now = cap.clock.now();
    await cap.ledger.finishStale(cap.config.REPAIR_AFTER_MS);
    if (bookingScans.due()) {
      const started = Date.now();
      const fullPage = await releaseAndExpireOverdue(cap, now);
      bookingScans.ran(started);
      // A full page means there may be more: the next sweep looks again.
      if (fullPage) bookingScans.again();
    }
    for (const entry of await cap.queue.overdue(now.toISOString(), 200)) await expireEntry(cap, entry.tenantId, entry._id);
    for (const w of await cap.queue.waiting(500)) await processQueue(cap, w.tenantId, w.sessionId, w.date);
  });
};

/** Gives back the slots of bookings released but not yet returned, and expires overdue holds; true if the page was full. */
async function releaseAndExpireOverdue(cap: Capacity, now: Date): Promise<boolean> {
  const releasedBefore = new Date(now.getTime() - cap.config.REPAIR_AFTER_MS).toISOString();
  const overdue = await cap.bookings.overdue(releasedBefore, now.toISOString(), PAGE);
  for (const doc of overdue) {
    const { _id, tenantId, releasing, outbox: _o, ...rest } = doc;
    if (releasing) {
      if (rest.status === 'cancelled' || rest.status === 'expired')
        await returnSlots(cap, tenantId, { ...rest, id: _id, status: rest.status });
    } else if (rest.status === 'held') {
      const expired = await expireHold(cap, tenantId, _id);
      if (expired) await processQueue(cap, tenantId, expired.sessionId, expired.date);
    }
  }
  return overdue.length === PAGE;
}

const PAGE = 200;
