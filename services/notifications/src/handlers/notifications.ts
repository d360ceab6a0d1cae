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
      const docs = await ntf.notifications.list(tenantId, feed, limit + 1, cursor, unread);
      // Counted after the page is read, not beside it: a count taken first could miss notifications
      // the page then shows (a page of 40 saying 2 unread while they were being stored).
      const unreadCount = await ntf.notifications.unreadCount(tenantId, feed);
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
