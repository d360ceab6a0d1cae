/**
 * What each event tells whom (the table of the service's README.md): pure functions from a parsed event to the notifications
 * it gives rise to (recipient, type and text). No I/O; the consumers store what these return.
 */
import type { Actor, CatalogEvent, Notification, ReportUpdated } from '@allot/contracts';

/** A notification before it is stored (no id, no timestamps). */
export type Draft = Pick<Notification, 'recipient' | 'type' | 'title' | 'message' | 'severity' | 'data'>;

export const admins = 'admins';
export const userRecipient = (userId: string) => `user:${userId}`;

/** The feed a credential reads: a user token its own, an API key the tenant's admins feed. */
export const feedOf = (actor: Actor) => (actor.kind === 'user' ? userRecipient(actor.userId) : admins);

const places = (n: number) => (n === 1 ? '1 place' : `${n} places`);

export function capacityNotifications(event: CatalogEvent<'capacity'>): Draft[] {
  switch (event.type) {
    case 'queue.promoted': {
      const { entry, booking } = event.data;
      if (!entry.userId) return [];
      const data = { entryId: entry.id, bookingId: booking.id, sessionId: booking.sessionId, date: booking.date };
      if (booking.status === 'held') {
        return [
          {
            recipient: userRecipient(entry.userId),
            type: 'queue_promoted',
            title: 'A place on the waitlist opened for you',
            message: `${places(booking.slots)} on ${booking.date} are held for you until ${booking.holdExpiresAt}. Confirm the booking to keep them.`,
            severity: 'info',
            data,
          },
        ];
      }
      return [
        {
          recipient: userRecipient(entry.userId),
          type: 'queue_promoted',
          title: 'You are off the waitlist',
          message: `Your waitlist entry is now a confirmed booking of ${places(booking.slots)} on ${booking.date}.`,
          severity: 'info',
          data,
        },
      ];
    }
    case 'queue.expired': {
      const { entry } = event.data;
      if (!entry.userId) return [];
      return [
        {
          recipient: userRecipient(entry.userId),
          type: 'queue_expired',
          title: 'Your waitlist entry expired',
          message: `No place for ${places(entry.requestedSlots)} on ${entry.date} opened before your waitlist entry expired.`,
          severity: 'warning',
          data: { entryId: entry.id, sessionId: entry.sessionId, date: entry.date },
        },
      ];
    }
    case 'booking.confirmed':
    case 'booking.cancelled': {
      const { booking } = event.data;
      // A booking migrated by an import was confirmed long ago, in another system.
      if (!booking.userId || event.data.importId) return [];
      const confirmed = event.type === 'booking.confirmed';
      return [
        {
          recipient: userRecipient(booking.userId),
          type: 'booking_status',
          title: confirmed ? 'Booking confirmed' : 'Booking cancelled',
          message: `Your booking of ${places(booking.slots)} on ${booking.date} is ${confirmed ? 'confirmed' : 'cancelled'}.`,
          severity: 'info',
          data: { bookingId: booking.id, sessionId: booking.sessionId, date: booking.date, status: booking.status },
        },
      ];
    }
    case 'alert.raised': {
      const alert = event.data;
      return [
        {
          recipient: admins,
          type: 'capacity_alert',
          title: `Capacity alert: ${alert.type.replaceAll('_', ' ')} for ${alert.sessionName}`,
          message: alert.message,
          severity: alert.type === 'capacity_shortage' ? 'critical' : 'warning',
          data: { ...alert },
        },
      ];
    }
    case 'report.updated':
      return reportNotifications(event.data);
    default:
      return [];
  }
}

export function inventoryNotifications(event: CatalogEvent<'inventory'>): Draft[] {
  switch (event.type) {
    case 'order.reserved':
    case 'order.failed': {
      const { order, reason } = event.data;
      const reserved = event.type === 'order.reserved';
      return [
        {
          recipient: order.userId ? userRecipient(order.userId) : admins,
          type: 'order_status',
          title: reserved ? 'Order reserved' : 'Order failed',
          message: reserved
            ? `Stock for your order of ${order.qty} × ${order.sku} is reserved.`
            : `Your order of ${order.qty} × ${order.sku} failed${reason ? ` (${reason.replaceAll('_', ' ')})` : ''}.`,
          severity: reserved ? 'info' : 'warning',
          data: { orderId: order.id, sku: order.sku, qty: order.qty, status: order.status, reason },
        },
      ];
    }
    case 'stock.low_detected': {
      const { sku, quantity, reorderLevel } = event.data;
      return [
        {
          recipient: admins,
          type: 'low_stock',
          title: `Low stock: ${sku}`,
          message: `${sku} is down to ${quantity}, below its reorder level of ${reorderLevel}.`,
          severity: quantity === 0 ? 'critical' : 'warning',
          data: { sku, quantity, reorderLevel },
        },
      ];
    }
    case 'report.updated':
      return reportNotifications(event.data);
    default:
      return [];
  }
}

/** A report is ready: whoever asked is told (the user, or the admins feed for an API key), once. */
export function reportNotifications(report: ReportUpdated): Draft[] {
  if (report.status !== 'ready') return [];
  return [
    {
      recipient: report.userId ? userRecipient(report.userId) : admins,
      type: 'report_ready',
      title: `Your ${report.type} report is ready`,
      message: `The ${report.format.toUpperCase()} file (${report.rows === 1 ? '1 row' : `${report.rows} rows`}) can be downloaded until ${report.expiresAt}.`,
      severity: 'info',
      data: { reportId: report.id, type: report.type, format: report.format, rows: report.rows, expiresAt: report.expiresAt },
    },
  ];
}

/** An endpoint the platform disabled: the admins are told why and what to do. */
export function webhooksNotifications(event: CatalogEvent<'webhooks'>): Draft[] {
  switch (event.type) {
    case 'endpoint.disabled': {
      const { endpoint } = event.data;
      const why = endpoint.disabledReason === 'gone' ? 'it answered 410 Gone' : 'every delivery to it failed for too long';
      return [
        {
          recipient: admins,
          type: 'webhook_endpoint_disabled',
          title: 'A webhook endpoint was disabled',
          message: `Deliveries to ${endpoint.url} stopped: ${why}. Enable it again once it is fixed (the waiting messages then go out), and recover what was exhausted.`,
          severity: 'critical',
          data: { endpointId: endpoint.id, url: endpoint.url, reason: endpoint.disabledReason },
        },
      ];
    }
    default:
      return [];
  }
}

/** A bulk send's notification for one user (announcement, reminder or alert). */
export function bulkNotification(
  userId: string,
  send: { type: string; title: string; message: string; severity?: Notification['severity'] },
  jobId: string,
): Draft {
  return {
    recipient: userRecipient(userId),
    type: send.type,
    title: send.title,
    message: send.message,
    severity: send.severity ?? (send.type === 'alert' ? 'warning' : 'info'),
    data: { jobId },
  };
}
