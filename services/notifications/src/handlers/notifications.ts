import { AppError, type NotificationsRpc } from '@allot/contracts';
import { type Handlers, toPage } from '@allot/kit';
import type { Notifications } from '../context';
import { feedOf } from '../domain/messages';
import { toNotification } from '../store/notifications';

/** The caller's feed: a user token reads its own, an API key the tenant's admins feed. */
export const notificationHandlers = (ntf: Notifications) =>
  ({
    'notification.list': async ({ limit, cursor, unread }, { tenantId, actor }) => {
      const feed = feedOf(actor);
      const [docs, unreadCount] = await Promise.all([
        ntf.notifications.list(tenantId, feed, limit + 1, cursor, unread),
        ntf.notifications.unreadCount(tenantId, feed),
      ]);
      return { ...toPage(docs, limit, toNotification), unreadCount };
    },
    'notification.read': async ({ id }, { tenantId, actor }) => {
      const doc = await ntf.notifications.markRead(tenantId, feedOf(actor), id, ntf.clock.now().toISOString());
      if (!doc) throw new AppError('not_found', 'Notification not found');
      return toNotification(doc);
    },
    'notification.readAll': async (_input, { tenantId, actor }) => {
      const feed = feedOf(actor);
      const marked = await ntf.notifications.markAllRead(tenantId, feed, ntf.clock.now().toISOString());
      return { marked, unreadCount: await ntf.notifications.unreadCount(tenantId, feed) };
    },
  }) satisfies Partial<Handlers<NotificationsRpc>>;
