/** Which events an endpoint receives (the service's README.md, Delivery). */

/** The type of the event `POST …/:id/test` sends; delivered whatever the endpoint's filter. */
export const TEST_EVENT_TYPE = 'webhook.test';

/**
 * An endpoint takes an event if its filter is empty or names the event's type, and only events
 * that happened once it existed: a new endpoint is not sent the streams' last days.
 */
export function wants(
  endpoint: { eventTypes: readonly string[]; createdAt: string },
  event: { type: string; occurredAt: string },
): boolean {
  if (event.occurredAt < endpoint.createdAt) return false;
  return endpoint.eventTypes.length === 0 || endpoint.eventTypes.includes(event.type);
}

/** The filter entries that name no event type the platform publishes: `[index, type]`. */
export function unknownTypes(eventTypes: readonly string[], known: ReadonlySet<string>): [number, string][] {
  return eventTypes.flatMap((type, i) => (known.has(type) ? [] : [[i, type] as [number, string]]));
}
