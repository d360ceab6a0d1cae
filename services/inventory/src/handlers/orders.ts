import { AppError, type InventoryRpc } from '@allot/contracts';
import { type Handlers, toPage } from '@allot/kit';
import type { Inventory } from '../context';
import { cancelOrder, createOrder, fulfilOrder, visibleOrder } from '../orders';
import { toOrder } from '../store/orders';
import { skuKey } from '../store/skus';
import { applyWebhook } from '../supplier';

/** Orders, the tenant's limits on them, and the supplier's callback. */
export const orderHandlers = (inv: Inventory) =>
  ({
    'order.create': async (input, { tenantId, actor, idempotencyKey }) => {
      // An unknown SKU is refused before anything is written (the ledger would refuse it too).
      if (!(await inv.ledger.exists(skuKey(tenantId, input.sku)))) throw new AppError('unknown_sku', `No SKU ${input.sku}`);
      return createOrder(inv, tenantId, actor, input, idempotencyKey);
    },
    'order.get': ({ id }, { tenantId, actor }) => visibleOrder(inv, tenantId, actor, id),
    'order.list': async ({ limit, cursor, status, sku }, { tenantId, actor }) => {
      // A user sees only its own orders, whatever it asks for.
      const userId = actor.kind === 'user' ? actor.userId : undefined;
      return toPage(await inv.orders.list(tenantId, { status, sku, userId }, limit + 1, cursor), limit, toOrder);
    },
    'order.cancel': ({ id }, { tenantId, actor }) => cancelOrder(inv, tenantId, actor, id),
    'order.fulfil': ({ id }, { tenantId, actor }) => fulfilOrder(inv, tenantId, actor, id),
    'limits.get': (_input, { tenantId }) => inv.limits.get(tenantId),
    'limits.set': async (patch, { tenantId, actor }) => {
      if (actor.kind !== 'apiKey') throw new AppError('forbidden', 'Only an API key may change the limits');
      const limits = await inv.limits.set(tenantId, patch);
      inv.log.info({ limits }, 'order limits changed');
      return limits;
    },
    'supplier.webhook': (input) => applyWebhook(inv, input),
  }) satisfies Partial<Handlers<InventoryRpc>>;
