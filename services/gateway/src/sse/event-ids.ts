import type { JsMsg } from '@nats-io/jetstream';

/**
 * An SSE id: the time the message was stored in the `CLIENT` stream, in nanoseconds since the
 * epoch, as 19 decimal digits. It tells a tenant when its own messages were stored and nothing
 * about anyone else's traffic (the stream sequence it replaced counted every tenant's
 * messages); it increases in stream order (JetStream stamps messages in order, which its own
 * delivery by start time relies on), so ids of equal length compare as strings; and it finds
 * the place to resume from (see `Fanout.replay`).
 */
export type EventId = string;

const DIGITS = 19;

/** The id of a message read from a consumer (its exact timestamp; `info.timestampNanos` is rounded). */
export const eventIdOf = (msg: JsMsg): EventId => msg.timestampNanos.toString().padStart(DIGITS, '0');

/** A `Last-Event-ID` as sent back by a client, or undefined if it is not one of ours. */
export function parseEventId(value: string): EventId | undefined {
  // Shorter ids (stream sequences sent before ids were times) resume from the replay window's start.
  return /^\d{1,19}$/.test(value) ? value.padStart(DIGITS, '0') : undefined;
}

/** The millisecond an id falls in, where a search by time starts. */
export const startTimeOf = (id: EventId): Date => new Date(Number(id.slice(0, DIGITS - 6)));
