import { type Booking, type DomainServiceName, type EventEnvelope, parseCatalogEvent } from '@allot/contracts';
import { RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { type MsgHdrs, nanos, headers as natsHeaders } from '@nats-io/transport-node';

/**
 * Client-facing messages: what SSE clients receive, derived from the services' events and kept
 * on one stream (`CLIENT`) for the replay window, so any gateway replica can serve any client
 * and a reconnecting client gets exactly what it missed. The stream sequence is the SSE id.
 *
 * Subjects: `client.<tenantId>.availability.<sessionId>.<date>`, `client.<tenantId>.bookings`,
 * `client.<tenantId>.orders`, `client.<tenantId>.alerts`, `client.<tenantId>.imports`,
 * `client.<tenantId>.reports`, `client.<tenantId>.user.<userKey>`.
 */
export const CLIENT_STREAM = 'CLIENT';

export function clientStreamConfig(replayMinutes: number): Partial<StreamConfig> & { name: string } {
  return {
    name: CLIENT_STREAM,
    subjects: ['client.>'],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(replayMinutes * 60_000),
    duplicate_window: nanos(5 * 60_000),
    // Replay looks up "the next message of this tenant after id N" with a direct get.
    allow_direct: true,
  };
}

/** What the projector publishes to the `CLIENT` stream for an event: the subject names the channel. */
export interface ClientMessage {
  subject: string;
  event: string;
  data: unknown;
}

/**
 * The header naming a client message's SSE event. Its body is the event's data as JSON, exactly
 * the bytes of the frame's `data:` line: it is encoded once, by the projector, and the fan-out
 * puts it in the frame as it is, without parsing it again. (A body without this header is the
 * earlier `{ "event", "data" }` form, still read while such messages are in the replay window.)
 */
export const EVENT_HEADER = 'Allot-Event';

/** The body and headers a client message is stored with on the `CLIENT` stream. */
export function encodeClientMessage(message: ClientMessage, msgID: string): { body: string; options: { msgID: string; headers: MsgHdrs } } {
  const h = natsHeaders();
  h.set(EVENT_HEADER, message.event);
  // JSON.stringify escapes line breaks, so the body is always one `data:` line.
  return { body: JSON.stringify(message.data) ?? 'null', options: { msgID, headers: h } };
}

/** A user id as a subject token (user ids are opaque and may contain dots or spaces). */
export const userKey = (userId: string) => Buffer.from(userId).toString('base64url');

const subjects = {
  availability: (t: string, sessionId: string, date: string) => `client.${t}.availability.${sessionId}.${date}`,
  bookings: (t: string) => `client.${t}.bookings`,
  orders: (t: string) => `client.${t}.orders`,
  alerts: (t: string) => `client.${t}.alerts`,
  imports: (t: string) => `client.${t}.imports`,
  reports: (t: string) => `client.${t}.reports`,
  user: (t: string, userId: string) => `client.${t}.user.${userKey(userId)}`,
};

/** The client messages an event of `source` gives rise to (none for events no client channel shows). */
export function clientMessagesFor(source: DomainServiceName, envelope: EventEnvelope): ClientMessage[] {
  const t = envelope.tenantId;
  const out: ClientMessage[] = [];
  const toUser = (userId: string | null, name: string, payload: unknown) => {
    if (userId) out.push({ subject: subjects.user(t, userId), event: name, data: payload });
  };

  switch (source) {
    case 'availability': {
      const event = parseCatalogEvent(source, envelope);
      if (event?.type === 'availability.updated') {
        out.push({ subject: subjects.availability(t, event.data.sessionId, event.data.date), event: event.type, data: event.data });
      }
      break;
    }
    case 'capacity': {
      const event = parseCatalogEvent(source, envelope);
      switch (event?.type) {
        case 'booking.held':
        case 'booking.confirmed':
        case 'booking.cancelled':
        case 'booking.expired': {
          const { booking } = event.data;
          out.push({ subject: subjects.bookings(t), event: bookingsEvent(event.type, booking), data: booking });
          toUser(booking.userId, 'booking.updated', booking);
          break;
        }
        case 'queue.promoted':
          out.push({ subject: subjects.bookings(t), event: 'queue.promoted', data: event.data });
          toUser(event.data.entry.userId, 'queue.updated', event.data.entry);
          break;
        case 'queue.joined':
        case 'queue.cancelled':
        case 'queue.expired':
          toUser(event.data.entry.userId, 'queue.updated', event.data.entry);
          break;
        case 'alert.raised':
          out.push({ subject: subjects.alerts(t), event: 'alert.raised', data: event.data });
          break;
        case 'import.updated':
          out.push({ subject: subjects.imports(t), event: 'import.updated', data: event.data });
          break;
        case 'report.updated':
          out.push({ subject: subjects.reports(t), event: 'report.updated', data: event.data });
          toUser(event.data.userId, 'report.updated', event.data);
          break;
      }
      break;
    }
    case 'notifications': {
      const event = parseCatalogEvent(source, envelope);
      if (event?.type === 'notification.created') {
        const { notification } = event.data;
        if (notification.recipient.startsWith('user:')) toUser(notification.recipient.slice(5), 'notification.created', notification);
        // The admins feed is for API keys, which read it on the alerts channel.
        if (notification.recipient === 'admins')
          out.push({ subject: subjects.alerts(t), event: 'notification.created', data: notification });
      }
      break;
    }
    case 'inventory': {
      const event = parseCatalogEvent(source, envelope);
      if (event?.type === 'report.updated') {
        out.push({ subject: subjects.reports(t), event: 'report.updated', data: event.data });
        toUser(event.data.userId, 'report.updated', event.data);
      }
      if (event?.type === 'import.updated') out.push({ subject: subjects.imports(t), event: 'import.updated', data: event.data });
      if (event && 'order' in event.data) {
        const { order, reason } = event.data;
        const payload = { id: order.id, sku: order.sku, qty: order.qty, status: order.status, reason };
        out.push({ subject: subjects.orders(t), event: 'order.updated', data: payload });
        toUser(order.userId, 'order.updated', payload);
      }
      break;
    }
  }
  return out;
}

/** `booking.created` for a new booking (held, or confirmed at once); otherwise the change itself. */
function bookingsEvent(type: string, booking: Booking): string {
  if (type === 'booking.held') return 'booking.created';
  if (type === 'booking.confirmed') return booking.holdExpiresAt === null ? 'booking.created' : 'booking.confirmed';
  return type;
}
