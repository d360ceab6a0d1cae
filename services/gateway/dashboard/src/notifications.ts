import type { Notification } from '@allot/client';
import { el, fill, timeAgo } from './dom';

export interface InboxActions {
  read(notification: Notification): void;
  readAll(): void;
}

/**
 * The notifications inbox: a user token's own notifications, or for an API key the admins'
 * feed (capacity alerts, low stock). The unread count is the service's exact figure, adjusted
 * as notifications arrive on the stream.
 */
export class Inbox {
  readonly element = el('ul', { class: 'list' });
  readonly badge = el('span', { class: 'count', 'data-unread': '0' }, '0');
  readonly markAll = el('button', { type: 'button', class: 'small link', onclick: () => this.actions.readAll() }, 'Mark all read');
  private items: Notification[] = [];
  private unread = 0;

  constructor(private readonly actions: InboxActions) {
    this.render();
  }

  set(items: Notification[], unreadCount: number) {
    this.items = items;
    this.unread = unreadCount;
    this.render();
  }

  arrived(notification: Notification) {
    if (this.items.some((n) => n.id === notification.id)) return;
    this.items = [notification, ...this.items].slice(0, 20);
    if (notification.readAt === null) this.unread += 1;
    this.render();
  }

  private render() {
    this.badge.textContent = String(this.unread);
    this.badge.dataset.unread = String(this.unread);
    this.badge.classList.toggle('zero', this.unread === 0);
    if (this.items.length === 0) {
      fill(this.element, el('li', { class: 'empty' }, 'Nothing yet. Booking changes, waitlist offers and alerts land here.'));
      return;
    }
    fill(
      this.element,
      ...this.items.map((n) =>
        el(
          'li',
          { class: `row notification ${n.readAt ? 'read' : 'unread'} ${n.severity}` },
          el(
            'div',
            { class: 'row-main' },
            el('span', { class: 'row-title' }, n.title),
            el('span', { class: 'muted meta' }, `${n.message} · ${timeAgo(n.createdAt)}`),
          ),
          n.readAt === null && el('button', { type: 'button', class: 'small', onclick: () => this.actions.read(n) }, 'Mark read'),
        ),
      ),
    );
  }
}
