import { type ServiceName, services } from '@allot/contracts';
import type { EventSubscription } from '@allot/kit';
import type { Webhooks } from './context';
import { wants } from './domain/routing';
import { deliveryDoc } from './endpoints';

/**
 * The durable consumers of every other service's public events (`webhooks-<source>`). Each event
 * becomes one delivery per endpoint of its tenant that wants it, stored (once: the delivery's id
 * is endpoint and event) before the event is acknowledged; the endpoints' queues take it from
 * there. Nothing here waits on an endpoint, so a slow one never holds up the stream.
 */
export const fanOut = (wh: Webhooks): EventSubscription[] =>
  services
    .filter((source): source is Exclude<ServiceName, 'webhooks'> => source !== 'webhooks')
    .map((source) => ({
      source,
      durable: `webhooks-${source}`,
      concurrency: 32,
      handler: async (envelope) => {
        const endpoints = (await wh.cache.enabledOf(envelope.tenantId)).filter((e) => wants(e, envelope));
        if (endpoints.length === 0) return;
        const now = wh.clock.now();
        // Leased to this process where its queue has room: handed over without a claim.
        const leases = endpoints.map((endpoint) => wh.dispatcher.reserve(endpoint._id));
        const docs = endpoints.map((endpoint, i) => {
          const lease = leases[i] ?? null;
          return { ...deliveryDoc(endpoint, envelope, now), leaseUntil: lease, ...(lease ? { claim: wh.dispatcher.heldClaim } : {}) };
        });
        const created = await wh.deliveries.insert(docs);
        for (const [i, endpoint] of endpoints.entries()) {
          const lease = leases[i];
          if (created[i] && lease) wh.dispatcher.enqueue(endpoint._id, docs[i] as (typeof docs)[number], lease);
          else wh.dispatcher.wake(endpoint._id);
        }
      },
    }));
