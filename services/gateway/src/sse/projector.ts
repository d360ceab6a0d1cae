import { domainServices } from '@allot/contracts';
import type { EventSubscription } from '@allot/kit';
import type { JetStreamClient } from '@nats-io/jetstream';
import { clientMessagesFor } from './client-messages';

/**
 * Turns the domain services' events into client messages on the `CLIENT` stream, through one
 * durable consumer per source shared by all gateway replicas. A redelivered event republishes
 * the same message ids, which JetStream drops, so each client message is stored once.
 */
export function clientMessageProjection({ js }: { js: JetStreamClient }): EventSubscription[] {
  return domainServices.map((source) => ({
    source,
    durable: 'gateway-client-messages',
    concurrency: 1, // keeps each source's messages in event order
    handler: async (event) => {
      for (const [i, message] of clientMessagesFor(source, event).entries()) {
        await js.publish(message.subject, JSON.stringify({ event: message.event, data: message.data }), {
          msgID: `${event.id}:${i}`,
        });
      }
    },
  }));
}
