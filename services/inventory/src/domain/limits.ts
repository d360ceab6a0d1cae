/** Limits on orders: their defaults and the check a user's new order must pass. Pure. */
import { AppError, type OrderLimits, type OrderStatus } from '@allot/contracts';
import { isFinal, transitions } from './transitions';

export const defaultOrderLimits: OrderLimits = { maxOpenOrdersPerUser: 10 };

/** An order is open until it is fulfilled, failed or cancelled. */
export const openStatuses = (Object.keys(transitions) as OrderStatus[]).filter((status) => !isFinal(status));

/**
 * One user token with more open orders than allowed: every order that stock cannot cover makes a
 * real reservation at the supplier, so a user may not pile them up. Refused like the limits
 * against hoarding bookings.
 */
export function checkOpenOrders(limits: OrderLimits, open: number): void {
  if (open >= limits.maxOpenOrdersPerUser) {
    throw new AppError(
      'conflict',
      `A user may have at most ${limits.maxOpenOrdersPerUser} open orders; wait for one to finish or cancel one`,
      {
        limit: 'maxOpenOrdersPerUser',
        maxOpenOrdersPerUser: limits.maxOpenOrdersPerUser,
        openOrders: open,
      },
    );
  }
}
