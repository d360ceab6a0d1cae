import { type EventEnvelope, parseEventSubject } from '@allot/contracts';
import { RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

/**
 * Client-facing messages: what SSE clients receive, derived from the services' events and kept
 * on one stream (`CLIENT`) for the replay window, so any gateway replica can serve any client
 * and a reconnecting client gets exactly what it missed. The stream sequence is the SSE id.
 *
 * Subjects: `client.<tenantId>.availability.<sessionId>.<date>`, `client.<tenantId>.bookings`,
 * `client.<tenantId>.orders`, `client.<tenantId>.alerts`, `client.<tenantId>.user.<userKey>`.
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

export interface ClientMessage {
  subject: string;
  event: string;
  data: unknown;
}

/** A user id as a subject token (user ids are opaque and may contain dots or spaces). */
export const userKey = (userId: string) => Buffer.from(userId).toString('base64url');

const subjects = {
  availability: (t: string, sessionId: string, date: string) => `client.${t}.availability.${sessionId}.${date}`,
  bookings: (t: string) => `client.${t}.bookings`,
  orders: (t: string) => `client.${t}.orders`,
  alerts: (t: string) => `client.${t}.alerts`,
  user: (t: string, userId: string) => `client.${t}.user.${userKey(userId)}`,
};

interface BookingLike {
  id: string;
  userId: string | null;
  holdExpiresAt: string | null;
  status: string;
}
interface EntryLike {
  userId: string | null;
}
interface OrderLike {
  id: string;
  sku: string;
  qty: number;
  status: string;
  userId: string | null;
}

/** The client messages an event gives rise to (none for events no client channel shows). */
export function clientMessagesFor(event: EventEnvelope, subject: string): ClientMessage[] {
  const source = parseEventSubject(subject)?.service;
  const t = event.tenantId;
  const data = event.data as Record<string, unknown>;
  const out: ClientMessage[] = [];
  const toUser = (userId: string | null | undefined, name: string, payload: unknown) => {
    if (userId) out.push({ subject: subjects.user(t, userId), event: name, data: payload });
  };

  switch (`${source}/${event.type}`) {
    case 'availability/availability.updated': {
      const update = data as { sessionId: string; date: string };
      out.push({ subject: subjects.availability(t, update.sessionId, update.date), event: 'availability.updated', data });
      break;
    }
    case 'capacity/booking.held':
    case 'capacity/booking.confirmed':
    case 'capacity/booking.cancelled':
    case 'capacity/booking.expired': {
      const booking = data.booking as BookingLike;
      out.push({ subject: subjects.bookings(t), event: bookingsEvent(event.type, booking), data: booking });
      toUser(booking.userId, 'booking.updated', booking);
      break;
    }
    case 'capacity/queue.promoted': {
      const entry = data.entry as EntryLike;
      out.push({ subject: subjects.bookings(t), event: 'queue.promoted', data });
      toUser(entry.userId, 'queue.updated', data.entry);
      break;
    }
    case 'capacity/queue.joined':
    case 'capacity/queue.cancelled':
    case 'capacity/queue.expired':
      toUser((data.entry as EntryLike).userId, 'queue.updated', data.entry);
      break;
    case 'capacity/alert.raised':
      out.push({ subject: subjects.alerts(t), event: 'alert.raised', data });
      break;
    case 'notifications/notification.created': {
      const notification = data.notification as { recipient: string };
      if (notification.recipient.startsWith('user:')) toUser(notification.recipient.slice(5), 'notification.created', notification);
      break;
    }
    default:
      if (source === 'inventory' && event.type.startsWith('order.')) {
        const order = data.order as OrderLike;
        const payload = {
          id: order.id,
          sku: order.sku,
          qty: order.qty,
          status: order.status,
          reason: (data.reason as string | null) ?? null,
        };
        out.push({ subject: subjects.orders(t), event: 'order.updated', data: payload });
        toUser(order.userId, 'order.updated', payload);
      }
  }
  return out;
}

/** `booking.created` for a new booking (held, or confirmed at once); otherwise the change itself. */
function bookingsEvent(type: string, booking: BookingLike): string {
  if (type === 'booking.held') return 'booking.created';
  if (type === 'booking.confirmed') return booking.holdExpiresAt === null ? 'booking.created' : 'booking.confirmed';
  return type;
}
