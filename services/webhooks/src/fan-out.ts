import { type ServiceName, services } from '@allot/contracts';
import type { EventSubscription } from '@allot/kit';
import type { Webhooks } from './context';
import { wants } from './domain/routing';
import { deliveryDoc } from './endpoints';
import type { DeliveryDoc } from './store/deliveries';
import type { EndpointDoc } from './store/endpoints';

/**
 * The durable consumers of every other service's public events (`webhooks-<source>`). Each event
 * becomes one delivery per endpoint of its tenant that wants it, stored (once: the delivery's id
 * is endpoint and event) before the event is acknowledged; the endpoints' queues take it from
 * there. On an event's first delivery, endpoints with a free slot are tried first and the
 * delivery stored with the outcome (`Dispatcher.tryFirst`); the wait for an answer is bounded
 * (`FIRST_ANSWER_WAIT_MS`) and skips endpoints that were slow, so a slow one never holds up the
 * stream.
 */
export const fanOut = (wh: Webhooks): EventSubscription[] =>
  services
    .filter((source): source is Exclude<ServiceName, 'webhooks'> => source !== 'webhooks')
    .map((source) => ({
      source,
      durable: `webhooks-${source}`,
      // Handlers wait for first attempts (a slot and an answer, each at most FIRST_ANSWER_WAIT_MS) and for grouped inserts: many at once keep the stream moving.
      concurrency: 256,
      handler: async (envelope, { deliveries: delivered }) => {
        const endpoints = (await wh.cache.enabledOf(envelope.tenantId)).filter((e) => wants(e, envelope));
        if (endpoints.length === 0) return;
        const now = wh.clock.now();
        const fresh = endpoints.map((endpoint) => deliveryDoc(endpoint, envelope, now));
        // The event's first delivery: endpoints with a free slot are tried before storing (one write, not two).
        // On a redelivery the deliveries may exist already, so they are stored first as they are.
        const first = await Promise.all(
          fresh.map((doc, i) => (delivered === 1 ? wh.dispatcher.tryFirst(endpoints[i] as EndpointDoc, doc) : null)),
        );
        // Else leased to this process where its queue has room: handed over without a claim.
        const leases = endpoints.map((endpoint, i) => (first[i] ? null : wh.dispatcher.reserve(endpoint._id)));
        const docs = fresh.map((doc, i) => {
          const lease = leases[i];
          return first[i]?.doc ?? (lease ? { ...doc, leaseUntil: lease, claim: wh.dispatcher.heldClaim } : doc);
        });
        let created: boolean[] = [];
        try {
          created = await wh.deliveries.insert(docs);
        } finally {
          for (const [i, attempt] of first.entries()) attempt?.stored(created[i] ?? false);
        }
        for (const [i, endpoint] of endpoints.entries()) {
          if (first[i]) continue;
          const lease = leases[i];
          if (created[i] && lease) wh.dispatcher.enqueue(endpoint._id, docs[i] as DeliveryDoc, lease);
          else wh.dispatcher.wake(endpoint._id);
        }
      },
    }));
