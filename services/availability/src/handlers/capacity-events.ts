import { parseCatalogEvent } from '@allot/contracts';
import type { EventSubscription } from '@allot/kit';
import { PROJECTION_DURABLE } from '../catch-up';
import type { Availability } from '../context';
import { factsOf } from '../domain/facts';
import { inOrderPerKey } from '../in-order';

/**
 * The projection: every capacity event, once per service (a durable consumer the replicas
 * share), written to the database and announced. One session/date's events are applied in
 * stream order; the versions make a redelivered or reordered one change nothing.
 */
export function capacityEvents(av: Availability): EventSubscription[] {
  const inOrder = inOrderPerKey();
  return [
    {
      source: 'capacity',
      durable: PROJECTION_DURABLE,
      concurrency: 64,
      backoffMs: [250, 1000, 5000],
      // Handling takes milliseconds: after a crash, what it held is redelivered soon.
      ackWaitMs: 5000,
      handler: async (envelope) => {
        const event = parseCatalogEvent('capacity', envelope);
        if (!event) return;
        const facts = factsOf(event);
        const key = facts.slots[0] ? `${facts.slots[0].sessionId}:${facts.slots[0].date}` : (facts.sessions[0]?.sessionId ?? event.id);
        await inOrder(key, () => av.projection.apply(facts));
      },
    },
  ];
}
