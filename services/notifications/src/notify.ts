import type { Notification } from '@allot/contracts';
import { idFor, newId } from '@allot/kit';
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
 * Stores the notifications an event gave rise to, once per (event, recipient) however often it is
 * delivered, and announces each while it is stored: its id follows from the event and recipient
 * (`idFor`), so a redelivered event makes the same notification, which is already there, and the
 * same announcement, which JetStream drops. Waiting for the insert first put the database's write
 * on every notification's way to the user's stream; if the insert fails, the event fails and is
 * delivered again, and so is the announcement (dropped again).
 */
export async function notifyFrom(
  ntf: Notifications,
  tenantId: string,
  event: { id: string; occurredAt: string },
  drafts: Draft[],
): Promise<void> {
  await Promise.all(
    drafts.map((draft) => {
      const doc = {
        ...notificationDoc(ntf, tenantId, event.id, draft),
        _id: idFor('ntf', new Date(event.occurredAt), `${tenantId}\u0000${event.id}\u0000${draft.recipient}`),
      };
      return Promise.all([ntf.publish(notificationCreated(ntf, tenantId, toNotification(doc))), ntf.notifications.store(doc)]);
    }),
  );
}
