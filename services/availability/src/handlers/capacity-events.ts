import { parseCatalogEvent } from '@allot/contracts';
import type { EventSubscription } from '@allot/kit';
import { PROJECTION_DURABLE } from '../catch-up';
import type { Availability } from '../context';
import { factsOf } from '../domain/facts';

/**
 * The projection: every capacity event, once per service (a durable consumer the replicas
 * share), written to the database and announced. Events are applied many at once, a hot
 * session/date's too, so their writes share batches: the versions make a redelivered or
 * reordered event change nothing, and an announcement already superseded is skipped.
 */
export function capacityEventConsumers(av: Availability): EventSubscription[] {
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
        await av.projection.apply(factsOf(event));
      },
    },
  ];
}
