import type { ServiceName } from '@allot/contracts';
import type { Service } from '@allot/kit';
import { type ClientMessage, clientMessagesFor } from './client-messages';

/** The services whose events reach SSE clients. */
const sources: ServiceName[] = ['availability', 'capacity', 'inventory', 'notifications'];

/**
 * Turns the services' events into client messages on the `CLIENT` stream, through one durable
 * consumer per source shared by all gateway replicas. A redelivered event republishes the same
 * message ids, which JetStream drops, so each client message is stored once.
 */
export async function startProjector(service: Service<any>): Promise<void> {
  for (const source of sources) {
    await service.consumeEvents(source, {
      durable: 'gateway-client-messages',
      filterSubjects: [`evt.${source}.>`],
      concurrency: 1, // keeps each source's messages in event order
      handler: async (event, { subject }) => {
        const messages: ClientMessage[] = clientMessagesFor(event, subject);
        for (const [i, message] of messages.entries()) {
          await service.js.publish(message.subject, JSON.stringify({ event: message.event, data: message.data }), {
            msgID: `${event.id}:${i}`,
          });
        }
      },
    });
  }
}
