import { domainServices } from '@allot/contracts';
import type { EventSubscription } from '@allot/kit';
import type { JetStreamClient } from '@nats-io/jetstream';
import { clientMessagesFor, encodeClientMessage } from './client-messages';

/** Events of one source being turned into client messages at once (their acknowledgements overlap). */
const IN_FLIGHT = 64;

/**
 * Turns the domain services' events into client messages on the `CLIENT` stream, through one
 * durable consumer per source shared by all gateway replicas. A redelivered event republishes
 * the same message ids, which JetStream drops, so each client message is stored once.
 *
 * Stored in event order without waiting for each other: the consumer starts handlers in
 * delivery order, and a handler sends all its messages before its first `await`, so they leave
 * this connection, and are stored, in event order, while up to `IN_FLIGHT` events wait for their
 * acknowledgements together (one at a time, each event waited a round trip per message). An
 * event is acknowledged once all its messages are stored. If a message cannot be stored the event
 * is retried later, after events that followed it: as before, order holds while NATS does.
 */
export function clientMessageProjection({ js }: { js: JetStreamClient }): EventSubscription[] {
  return domainServices.map((source) => ({
    source,
    durable: 'gateway-client-messages',
    concurrency: IN_FLIGHT,
    handler: async (event) => {
      const sent = clientMessagesFor(source, event).map((message, i) => {
        const { body, options } = encodeClientMessage(message, `${event.id}:${i}`);
        return js.publish(message.subject, body, options);
      });
      await Promise.all(sent);
    },
  }));
}
