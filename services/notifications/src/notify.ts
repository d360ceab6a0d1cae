import type { Notification } from '@allot/contracts';
import { newId } from '@allot/kit';
import type { Notifications } from './context';
import type { Draft } from './domain/messages';
import { type NotificationDoc, toNotification } from './store/notifications';

/** A notification's document, created now from `source`. */
export function notificationDoc(ntf: Notifications, tenantId: string, source: string, draft: Draft): NotificationDoc {
  return { _id: newId('ntf'), tenantId, source, ...draft, readAt: null, createdAt: ntf.clock.now().toISOString() };
}

/**
 * The event announcing a notification. Its id follows from the notification's, so announcing
 * the same notification again (a bulk batch resumed after a crash) is dropped by JetStream.
 */
export function notificationCreated(ntf: Notifications, tenantId: string, notification: Notification) {
  return { ...ntf.event(tenantId, 'notification.created', { notification }), id: notification.id.replace(/^ntf_/, 'evt_') };
}

/**
 * Stores the drafts an event gave rise to, once per (event, recipient) however often it is
 * delivered, and announces each. No outbox: the event is acked only once this returns, so a
 * crash before the announcement delivers the event again, which finds the notification stored
 * and announces it again under the same event id (dropped by JetStream if it went out).
 */
export async function notifyFrom(ntf: Notifications, tenantId: string, eventId: string, drafts: Draft[]): Promise<void> {
  for (const draft of drafts) {
    const stored = await ntf.notifications.create(notificationDoc(ntf, tenantId, eventId, draft));
    await ntf.publish(notificationCreated(ntf, tenantId, toNotification(stored)));
  }
}
