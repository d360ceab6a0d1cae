import { el, fill, timeAgo } from './dom';

/** What the list shows of an order: `GET /v1/orders` gives all of it, `order.updated` on the stream the fields below but the dates. */
export interface OrderRow {
  id: string;
  sku: string;
  qty: number;
  status: string;
  userId?: string | null;
  createdAt?: string;
}

const SHOWN = 8;

/**
 * The newest orders, their status kept current by `order.updated` from the stream. A status that
 * arrived live while the list was loading is kept: the loaded page may have been read before it.
 */
export class RecentOrders {
  readonly element = el('ul', { class: 'list', 'aria-live': 'polite' });
  private readonly orders = new Map<string, OrderRow>();
  private live = new Set<string>();

  constructor() {
    this.render();
  }

  /** Call before a (re)load: from now on, statuses from the stream win over the loaded list. */
  loading() {
    this.live = new Set();
  }

  set(orders: OrderRow[]) {
    const kept = new Map([...this.orders].filter(([id]) => this.live.has(id)));
    this.orders.clear();
    for (const order of orders) this.orders.set(order.id, { ...order, ...pick(kept.get(order.id)) });
    for (const [id, order] of kept) if (!this.orders.has(id)) this.orders.set(id, order);
    this.render();
  }

  /** An `order.updated` message: the order's new status (a new order is added). */
  updated(change: OrderRow) {
    this.live.add(change.id);
    const known = this.orders.get(change.id);
    this.orders.set(change.id, { ...known, ...change, createdAt: known?.createdAt ?? new Date().toISOString() });
    this.render();
  }

  private render() {
    const newest = [...this.orders.values()].sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '')).slice(0, SHOWN);
    if (newest.length === 0) {
      fill(this.element, el('li', { class: 'empty' }, 'No orders yet. They appear here as they are placed (POST /v1/orders).'));
      return;
    }
    fill(this.element, ...newest.map((o) => row(o)));
  }
}

/** The live part of an order (what the stream says), to lay over a loaded copy. */
const pick = (order: OrderRow | undefined) => (order ? { status: order.status } : {});

function row(order: OrderRow) {
  const who = order.userId ? `user ${order.userId}` : 'no user';
  return el(
    'li',
    { class: 'row', 'data-order': order.id },
    el(
      'div',
      { class: 'row-main' },
      el('span', { class: 'row-title' }, `${order.qty} × ${order.sku}`),
      el('span', { class: 'muted meta' }, `${who}${order.createdAt ? ` · ${timeAgo(order.createdAt)}` : ''}`),
    ),
    el('span', { class: `badge ${order.status}` }, order.status.replace('_', ' ')),
  );
}
