/**
 * Waitlist ordering and promotion (services/capacity/README.md, The rules). Pure: the store loads the pending,
 * unexpired entries of one session/date and applies what these functions decide.
 */

import type { BookingType } from '@allot/contracts';

/** The bonus each booking type adds to an entry's priority. */
const TYPE_BONUS: Record<BookingType, number> = { regular: 0, private_silver: 2, private_gold: 3 };

/** Signed-in users outrank guests, so a known user gets this on top. */
const USER_BONUS = 2;

/**
 * The priority of a queue entry: 1, +2 if a user is set, +3 for `private_gold`, +2 for
 * `private_silver`. Ranges from 1 (guest, regular) to 6 (user, gold).
 */
export function queuePriority(entry: { userId: string | null; bookingType: BookingType }): number {
  return 1 + (entry.userId === null ? 0 : USER_BONUS) + TYPE_BONUS[entry.bookingType];
}

/** The fields of a pending queue entry that ordering and promotion need. */
export interface Queued {
  id: string;
  priority: number;
  /** ISO 8601 UTC timestamp as `Date#toISOString` writes it (fixed width, so it sorts as a string). */
  createdAt: string;
  requestedSlots: number;
}

/**
 * Queue order as a comparator: priority descending, then createdAt ascending, then id ascending.
 * The id tie-break makes the order total, so every processor and every read computes the same
 * positions even for entries created in the same millisecond.
 */
export function compareQueueOrder(a: Queued, b: Queued): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  // Plain code-unit comparison, not localeCompare: the order must not depend on the host's locale.
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return 0;
}

/** A copy of `pending` sorted into queue order; the input array is left untouched. */
export function orderQueue<T extends Queued>(pending: T[]): T[] {
  return [...pending].sort(compareQueueOrder);
}

/**
 * Position (1-based, in queue order) and estimated wait of every pending entry, keyed by id.
 * The wait is `(position − 1) × minutesPerPosition`: the head of the queue waits 0 minutes.
 */
export function positionsOf<T extends Queued>(
  pending: T[],
  minutesPerPosition: number,
): Map<string, { position: number; estimatedWaitMinutes: number }> {
  const positions = new Map<string, { position: number; estimatedWaitMinutes: number }>();
  orderQueue(pending).forEach((entry, index) => {
    positions.set(entry.id, { position: index + 1, estimatedWaitMinutes: index * minutesPerPosition });
  });
  return positions;
}

/**
 * The entries to promote with `availableSlots` free: walks the queue in order and selects every
 * entry whose `requestedSlots` fit into what is still free, skipping the ones that do not (a
 * smaller entry further back may still fit). Returns the selection in queue order.
 */
export function firstFit<T extends Queued>(pending: T[], availableSlots: number): T[] {
  const selected: T[] = [];
  let remaining = availableSlots;
  for (const entry of orderQueue(pending)) {
    if (remaining <= 0) break;
    // A non-positive request cannot exist per the schema; never let one inflate the remaining capacity.
    if (entry.requestedSlots <= 0) continue;
    if (entry.requestedSlots > remaining) continue;
    selected.push(entry);
    remaining -= entry.requestedSlots;
  }
  return selected;
}
