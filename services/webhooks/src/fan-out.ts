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
        await wh.deliveries.insert(endpoints.map((endpoint) => deliveryDoc(endpoint, envelope, now)));
        for (const endpoint of endpoints) wh.dispatcher.wake(endpoint._id);
      },
    }));
