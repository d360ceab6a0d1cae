/**
 * How a batch of changes to one SKU's stock is decided (pure): in arrival order, against the
 * figures the previous batch left. Every change that adds stock first serves the orders waiting
 * for it, oldest first, before any later order can take it; a waiting order that does not fit
 * keeps its place (nobody behind it is served past it).
 */
import type { OrderStatus } from '@allot/contracts';

/** An order that found no stock when it was placed, waiting for a restock or its supplier. */
export interface Waiting {
  orderId: string;
  qty: number;
  userId: string | null;
  createdAt: string;
}

export type MovementType = 'initial' | 'reserve' | 'release' | 'restock' | 'adjust';

/** A ledger line as decided (the store adds the SKU and the time). */
export interface DecidedMovement {
  id: string;
  type: MovementType;
  quantity: number;
  balanceAfter: number;
  orderId: string | null;
  reason: string | null;
  seq: number;
  /** A restock's unit cost, when it was given (stock is valued FIFO from these). */
  unitCost?: number | null;
}

export type StockChange =
  /** A new order: reserved from stock if it fits, else it waits (and asks the supplier). */
  | { kind: 'order'; order: Waiting }
  | { kind: 'restock'; quantity: number; reason: string | null; unitCost?: number | null }
  | { kind: 'adjust'; delta: number; reason: string }
  /** A waiting order's end, from its supplier or a cancel: `reserved` means the supplier delivered it. */
  | { kind: 'settle'; orderId: string; to: 'reserved' | 'failed' | 'cancelled' }
  /** A reserved order's stock coming back (cancelled). */
  | { kind: 'release'; orderId: string; qty: number };

export interface Figures {
  quantity: number;
  waiting: Waiting[];
  /** The number of movements so far: the next one's place in the ledger. */
  seq: number;
}

/** What became of a waiting or new order in the batch. */
export interface OrderOutcome {
  orderId: string;
  status: OrderStatus;
}

export type Decision =
  | { accepted: true; movements: DecidedMovement[]; orders: OrderOutcome[] }
  | { accepted: false; reason: 'below_zero' | 'not_waiting' };

/** The id of an order's movement of a type: one per (order, type), so writing it twice is a no-op. */
export const orderMovementId = (orderId: string, type: MovementType) => `${orderId}-${type}`;

/** Decides each change in order; returns the decisions and the figures after the accepted ones. */
export function decideBatch(start: Figures, changes: StockChange[], newId: () => string): { figures: Figures; decisions: Decision[] } {
  const f: Figures = { ...start, waiting: [...start.waiting] };
  return { decisions: changes.map((change) => decide(f, change, newId)), figures: f };
}

function decide(f: Figures, change: StockChange, newId: () => string): Decision {
  const moved: DecidedMovement[] = [];
  const orders: OrderOutcome[] = [];
  const move = (type: MovementType, quantity: number, orderId: string | null, reason: string | null, unitCost?: number | null) => {
    f.quantity += quantity;
    f.seq += 1;
    moved.push({
      id: orderId ? orderMovementId(orderId, type) : newId(),
      type,
      quantity,
      balanceAfter: f.quantity,
      orderId,
      reason,
      seq: f.seq,
      ...(unitCost != null ? { unitCost } : {}),
    });
  };
  const serveWaiting = () => {
    while (f.waiting[0] && f.waiting[0].qty <= f.quantity) {
      const next = f.waiting.shift() as Waiting;
      move('reserve', -next.qty, next.orderId, null);
      orders.push({ orderId: next.orderId, status: 'reserved' });
    }
  };

  switch (change.kind) {
    case 'order': {
      const { order } = change;
      if (order.qty <= f.quantity) {
        move('reserve', -order.qty, order.orderId, null);
        orders.push({ orderId: order.orderId, status: 'reserved' });
      } else {
        f.waiting.push(order);
        orders.push({ orderId: order.orderId, status: 'pending' });
      }
      break;
    }
    case 'restock':
      move('restock', change.quantity, null, change.reason, change.unitCost);
      serveWaiting();
      break;
    case 'adjust':
      if (f.quantity + change.delta < 0) return { accepted: false, reason: 'below_zero' };
      move('adjust', change.delta, null, change.reason);
      serveWaiting();
      break;
    case 'settle': {
      const index = f.waiting.findIndex((w) => w.orderId === change.orderId);
      if (index < 0) return { accepted: false, reason: 'not_waiting' }; // served, settled or cancelled before
      const [order] = f.waiting.splice(index, 1) as [Waiting];
      if (change.to === 'reserved') {
        // The supplier's delivery for this order arrives and is reserved for it at once.
        move('restock', order.qty, order.orderId, 'supplier delivery');
        move('reserve', -order.qty, order.orderId, null);
      }
      orders.push({ orderId: order.orderId, status: change.to });
      // Leaving the head of the line may let the next waiting order fit.
      serveWaiting();
      break;
    }
    case 'release':
      move('release', change.qty, change.orderId, 'order cancelled');
      serveWaiting();
      break;
  }
  return { accepted: true, movements: moved, orders };
}
