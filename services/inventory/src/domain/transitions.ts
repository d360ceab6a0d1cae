import type { OrderStatus } from '@allot/contracts';

/**
 * The one table of allowed order transitions (README.md, Order states). Every change of an order is checked
 * against it, and every stored update is guarded by its `from` states, so a replayed job, a
 * duplicated webhook or two racing requests never move an order (or its stock) twice.
 */
export const transitions: Record<OrderStatus, readonly OrderStatus[]> = {
  pending: ['reserved', 'awaiting_restock', 'failed', 'cancelled'],
  awaiting_restock: ['reserved', 'failed', 'cancelled'],
  reserved: ['fulfilled', 'cancelled'],
  fulfilled: [],
  failed: [],
  cancelled: [],
};

export const canMove = (from: OrderStatus, to: OrderStatus) => transitions[from].includes(to);

/** The states an order may move to `to` from: the guard of the stored update. */
export const sourcesOf = (to: OrderStatus) => (Object.keys(transitions) as OrderStatus[]).filter((from) => canMove(from, to));

export const isFinal = (status: OrderStatus) => transitions[status].length === 0;
export const finalStatuses = (Object.keys(transitions) as OrderStatus[]).filter(isFinal);

/** Orders still waiting for stock (locally or from the supplier): the SKU decides how they end. */
export const waitingStatuses: readonly OrderStatus[] = ['pending', 'awaiting_restock'];
