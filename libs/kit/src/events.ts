import { type EventCatalog, type EventEnvelope, eventCatalog, eventSubject, type ServiceName } from '@allot/contracts';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { z } from 'zod';
import type { Clock } from './clock';
import { newId } from './ids';
import { contextFromTraceparent, headersWithTrace, inSpan, SpanKind } from './trace';

/** The `data` a catalogued event of service `S` takes. */
export type EventData<S extends ServiceName, T extends keyof EventCatalog[S]> = EventCatalog[S][T] extends {
  data: infer D extends z.ZodType;
}
  ? z.input<D>
  : never;

/** Builds a validated envelope for one of the service's catalogued events. */
export function makeEvent<S extends ServiceName, T extends keyof EventCatalog[S] & string>(
  service: S,
  tenantId: string,
  type: T,
  data: EventData<S, T>,
  clock: Clock,
): EventEnvelope {
  const contract = (eventCatalog[service] as Record<string, { version: number; data: z.ZodType }>)[type];
  if (!contract) throw new Error(`${service} has no event ${type} in the catalog`);
  return {
    id: newId('evt'),
    type,
    version: contract.version,
    tenantId,
    occurredAt: clock.now().toISOString(),
    source: service,
    data: contract.data.parse(data),
  };
}

/**
 * Publishes envelopes on the service's stream with `Nats-Msg-Id` = event id, so a re-publish
 * (a retried relay, a restart) is dropped by JetStream within its duplicate window.
 */
export class EventPublisher {
  constructor(
    private readonly js: JetStreamClient,
    private readonly service: ServiceName,
  ) {}

  async publish(envelope: EventEnvelope, traceparent: string | null = null): Promise<void> {
    const subject = eventSubject(this.service, envelope.tenantId, envelope.type);
    const parent = traceparent ? contextFromTraceparent(traceparent) : undefined;
    const attributes = { 'messaging.message.id': envelope.id };
    await inSpan(`${subject} publish`, { kind: SpanKind.PRODUCER, parent, attributes }, async () => {
      await this.js.publish(subject, JSON.stringify(envelope), { msgID: envelope.id, headers: headersWithTrace() });
    });
  }
}
