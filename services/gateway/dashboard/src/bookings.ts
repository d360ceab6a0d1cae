import type { Booking, Session } from '@allot/client';
import { el, fill, shortDate, timeAgo } from './dom';

export interface BookingActions {
  confirm(booking: Booking): void;
  cancel(booking: Booking): void;
}

const SHOWN = 12;

/** The newest bookings, kept current from the stream; held ones can be confirmed, live ones cancelled. */
export class RecentBookings {
  readonly element = el('ul', { class: 'list', 'aria-live': 'polite' });
  private readonly bookings = new Map<string, Booking>();

  constructor(
    private readonly sessions: Map<string, Session>,
    private readonly actions: BookingActions,
  ) {
    this.render();
  }

  set(bookings: Booking[]) {
    this.bookings.clear();
    for (const booking of bookings) this.bookings.set(booking.id, booking);
    this.render();
  }

  /** A booking made here or announced on the stream; an older copy never replaces a newer one. */
  upsert(booking: Booking) {
    const known = this.bookings.get(booking.id);
    if (known && known.updatedAt > booking.updatedAt) return;
    this.bookings.set(booking.id, booking);
    this.render();
  }

  private render() {
    const newest = [...this.bookings.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, SHOWN);
    if (newest.length === 0) {
      fill(this.element, el('li', { class: 'empty' }, 'No bookings yet. Pick a cell in the grid and book a seat.'));
      return;
    }
    fill(this.element, ...newest.map((b) => this.row(b)));
  }

  private row(booking: Booking) {
    const session = this.sessions.get(booking.sessionId);
    const who = booking.userId ? `user ${booking.userId}` : 'no user';
    const expiry =
      booking.status === 'held' && booking.holdExpiresAt
        ? ` · hold ends ${new Date(booking.holdExpiresAt).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' })}`
        : '';
    return el(
      'li',
      { class: 'row', 'data-booking': booking.id },
      el(
        'div',
        { class: 'row-main' },
        el('span', { class: 'row-title' }, `${session?.name ?? booking.sessionId} · ${shortDate(booking.date)}`),
        el(
          'span',
          { class: 'muted meta' },
          `${booking.slots} seat${booking.slots === 1 ? '' : 's'} · ${who} · ${timeAgo(booking.createdAt)}${expiry}`,
        ),
      ),
      el('span', { class: `badge ${booking.status}` }, booking.status),
      el(
        'div',
        { class: 'row-actions' },
        booking.status === 'held' &&
          el('button', { type: 'button', class: 'small primary', onclick: () => this.actions.confirm(booking) }, 'Confirm'),
        (booking.status === 'held' || booking.status === 'confirmed') &&
          el('button', { type: 'button', class: 'small', onclick: () => this.actions.cancel(booking) }, 'Cancel'),
      ),
    );
  }
}
