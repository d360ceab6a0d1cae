import { AppError, EventEnvelope } from '@allot/contracts';
import type { JsMsg } from '@nats-io/jetstream';
import { consume, deadLetter, errorText, eventPrefetch, type JetStreamDeps, jsonOf, type RunningConsumer } from './consumer';
import { failpoint } from './failpoints';
import { instruments } from './telemetry';
import { contextFrom, inSpan, SpanKind } from './trace';

export interface EventConsumerOptions {
  stream: string;
  durable: string;
  filterSubjects: string[];
  /** Attempts before the event goes to the dead-letter stream (default 5). */
  maxAttempts?: number;
  /** Delay before attempt n+1 is `backoffMs[n-1]` (the last value repeats). */
  backoffMs?: number[];
  concurrency?: number;
  ackWaitMs?: number;
  handler(event: EventEnvelope, meta: { subject: string; deliveries: number }): Promise<void>;
}

export const defaultBackoffMs = [1000, 5000, 15_000, 30_000];

/**
 * Runs a durable consumer of events: acks after the handler's work, naks with backoff when it
 * throws, and after `maxAttempts` moves the event to the dead-letter stream with its error.
 * A malformed envelope is poison: dead-lettered at once. Handlers must be idempotent
 * (at-least-once delivery); JetStream's dedupe already drops re-published event ids.
 */
export function consumeEvents(deps: JetStreamDeps, options: EventConsumerOptions): Promise<RunningConsumer> {
  const maxAttempts = options.maxAttempts ?? 5;
  const backoff = options.backoffMs ?? defaultBackoffMs;
  return consume(
    deps,
    {
      stream: options.stream,
      durable: options.durable,
      filterSubjects: options.filterSubjects,
      // This runner bounds the attempts; the server never gives up on a message, so one whose dead
      // letter could not be written yet (or whose process died on its last attempt) comes back.
      maxDeliver: -1,
      ackWaitMs: options.ackWaitMs,
      concurrency: options.concurrency,
      // Handlers are short: the next events wait here, not a pull request away.
      prefetch: eventPrefetch(options.concurrency ?? 16),
    },
    async (msg: JsMsg) => {
      const parsed = EventEnvelope.safeParse(jsonOf(msg));
      if (!parsed.success) return deadLetter(deps, options.durable, msg, 'malformed event envelope');
      const started = performance.now();
      const deliveries = msg.info.deliveryCount;
      try {
        const attributes = { 'messaging.message.id': parsed.data.id };
        await inSpan(`${msg.subject} process`, { kind: SpanKind.CONSUMER, parent: contextFrom(msg.headers), attributes }, () =>
          options.handler(parsed.data, { subject: msg.subject, deliveries }),
        );
        failpoint(`before-ack:${options.durable}`);
        msg.ack();
        instruments().eventDuration.record((performance.now() - started) / 1000, { consumer: options.durable, result: 'ok' });
      } catch (error) {
        instruments().eventDuration.record((performance.now() - started) / 1000, { consumer: options.durable, result: 'error' });
        const permanent = error instanceof AppError && error.code === 'validation_failed';
        if (permanent || deliveries >= maxAttempts) return deadLetter(deps, options.durable, msg, errorText(error));
        instruments().retries.add(1, { consumer: options.durable });
        deps.log.warn({ err: error, subject: msg.subject, deliveries }, 'event handler failed; will retry');
        msg.nak(backoff[Math.min(deliveries, backoff.length) - 1]);
      }
    },
  );
}
