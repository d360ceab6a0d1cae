import {
  Adjust,
  AppError,
  CreateOrder,
  CreateSku,
  Id,
  type InventoryRpc,
  inventoryRpc,
  ListOrders,
  Pagination,
  Restock,
  SkuRef,
  SupplierWebhook,
  validationError,
  WebhookReceipt,
} from '@allot/contracts';
import { createRoute, z } from '@hono/zod-openapi';
import type { Handler } from 'hono';
import { supplierSignatureChecker } from '../auth/supplier-signature';
import type { GatewayDeps } from '../deps';
import type { GatewayEnv } from '../http/env';
import { problems, router } from '../http/openapi';
import { Limit } from '../http/rate-limit';
import { registerRpcRoutes, rpcRoute } from '../http/rpc-route';

const byId = z.object({ id: Id });
const tenant = ['apiKey'] as const;
const anyone = ['apiKey', 'user'] as const;
const service = 'inventory' as const;
const op = <K extends keyof InventoryRpc>(operation: K) => ({ service, operation, contract: inventoryRpc[operation] });

/** SKUs, stock, orders, the movements ledger, and the supplier's signed callback. */
export function inventoryRoutes(deps: GatewayDeps) {
  const app = router();
  registerRpcRoutes(app, deps, [
    rpcRoute({
      method: 'post',
      path: '/skus',
      summary: 'Create a SKU',
      operationId: 'createSku',
      tag: 'SKUs',
      description: 'Creates a SKU with its starting quantity. A SKU code the tenant already has is 409 `conflict`.',
      credentials: [...tenant],
      ...op('sku.create'),
      body: CreateSku,
      status: 201,
      idempotent: true,
      input: (r) => r.body,
    }),
    rpcRoute({
      method: 'get',
      path: '/skus',
      summary: 'List SKUs',
      operationId: 'listSkus',
      tag: 'SKUs',
      description: "Lists the tenant's SKUs with their stock, a page at a time.",
      credentials: [...tenant],
      ...op('sku.list'),
      query: Pagination.strict(),
      input: (r) => r.query,
    }),
    rpcRoute({
      method: 'get',
      path: '/skus/{sku}',
      summary: 'Get a SKU',
      operationId: 'getSku',
      tag: 'SKUs',
      description: 'Returns one SKU and its stock.',
      credentials: [...anyone],
      ...op('sku.get'),
      params: SkuRef,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'post',
      path: '/skus/{sku}/restock',
      summary: 'Restock a SKU (waiting orders are served first, oldest first)',
      operationId: 'restockSku',
      tag: 'SKUs',
      description:
        "Adds units to a SKU's stock. Orders waiting for stock are served from them first, oldest first; what is left adds to the quantity. " +
        'An optional `unitCost` (what one unit of this delivery cost) is kept on the movement; the `stock-valuation` report values stock FIFO from these.',
      credentials: [...tenant],
      ...op('sku.restock'),
      params: SkuRef,
      body: Restock,
      input: (r) => ({ ...r.params, ...r.body }),
    }),
    rpcRoute({
      method: 'post',
      path: '/skus/{sku}/adjust',
      summary: 'Correct the stock of a SKU (never below 0)',
      operationId: 'adjustSkuStock',
      tag: 'SKUs',
      description:
        "Corrects a SKU's stock by a signed `delta` (not 0) with a `reason`, such as a count or breakage; stock never goes below 0.",
      credentials: [...tenant],
      ...op('sku.adjust'),
      params: SkuRef,
      body: Adjust,
      input: (r) => ({ ...r.params, ...r.body }),
    }),
    rpcRoute({
      method: 'post',
      path: '/orders',
      summary: 'Order units of a SKU (202 pending; reserved asynchronously)',
      operationId: 'createOrder',
      tag: 'Orders',
      description:
        'Orders `qty` units of a SKU. The answer is 202 with the order `pending`: it is reserved from stock at once when the stock is there (a `GET` right after shows `reserved`), else it waits for a restock or the supplier. An unknown SKU is 422 `unknown_sku`; send an `Idempotency-Key` so a retry orders once.',
      credentials: [...anyone],
      ...op('order.create'),
      body: CreateOrder,
      status: 202,
      idempotent: true,
      input: (r) => r.body,
    }),
    rpcRoute({
      method: 'get',
      path: '/orders',
      summary: 'List orders (a user sees its own)',
      operationId: 'listOrders',
      tag: 'Orders',
      description: 'Lists orders a page at a time, filtered by status or SKU; a user token sees only its own.',
      credentials: [...anyone],
      ...op('order.list'),
      query: ListOrders,
      input: (r) => r.query,
    }),
    rpcRoute({
      method: 'get',
      path: '/orders/{id}',
      summary: 'Get an order',
      operationId: 'getOrder',
      tag: 'Orders',
      description: 'Returns one order and its state; a user token only its own.',
      credentials: [...anyone],
      ...op('order.get'),
      params: byId,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'post',
      path: '/orders/{id}/cancel',
      summary: 'Cancel an order (reserved stock is released)',
      operationId: 'cancelOrder',
      tag: 'Orders',
      description:
        'Cancels an order that is not final; stock it had reserved goes back to the SKU. A fulfilled, failed or cancelled order is 409 `invalid_state`.',
      credentials: [...anyone],
      ...op('order.cancel'),
      params: byId,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'post',
      path: '/orders/{id}/fulfil',
      summary: 'Fulfil a reserved order',
      operationId: 'fulfilOrder',
      tag: 'Orders',
      description:
        'Marks a reserved order fulfilled: its reserved units are handed over and never return to stock. An order in any other state is 409 `invalid_state`.',
      credentials: [...tenant],
      ...op('order.fulfil'),
      params: byId,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'get',
      path: '/inventory/{sku}/movements',
      summary: "A SKU's stock movements, oldest first",
      operationId: 'listSkuMovements',
      tag: 'SKUs',
      description: 'The ledger of a SKU: every reserve, release, restock and adjustment, oldest first, a page at a time.',
      credentials: [...tenant],
      ...op('movement.list'),
      params: SkuRef,
      query: Pagination.strict(),
      input: (r) => ({ ...r.params, ...r.query }),
    }),
  ]);
  return app.openapi(webhookRoute, supplierWebhook(deps));
}

const webhookRoute = createRoute({
  method: 'post',
  path: '/webhooks/supplier',
  summary: "The supplier's signed status callback for a reservation",
  operationId: 'receiveSupplierCallback',
  tags: ['Webhooks'],
  description:
    'The supplier tells the platform whether a reservation (`ref`) succeeded. It carries no credential: it is signed as ' +
    "Standard Webhooks sign, with the headers webhook-id, webhook-timestamp (unix seconds, within 5 minutes of the gateway's clock) " +
    'and webhook-signature (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{raw body}">`), and is refused with 401 otherwise. ' +
    'Each webhook-id is applied once: a repeat is 409 `conflict`.',
  // The body ({ref, status: ok|fail}) is read raw, for the signature, and validated after it: no validator here.
  responses: {
    200: { description: 'Received (a final order is left unchanged)', content: { 'application/json': { schema: WebhookReceipt } } },
    ...problems(400, 401, 404, 409, 429, 503),
  },
});

/**
 * The supplier's callback. It carries no credential: its signature is checked first (cheap, in
 * memory; a failure is charged to the caller's address like any failed credential), then the
 * supplier's own rate limit (the per-credential settings, under one key: only the supplier
 * holds the secret), then its `webhook-id` is claimed so a replay is refused (409) instead of
 * applied twice. A call that is not applied releases its id, so the supplier may retry it.
 */
function supplierWebhook(deps: GatewayDeps): Handler<GatewayEnv> {
  const check = supplierSignatureChecker(deps.config.SUPPLIER_WEBHOOK_SECRET);
  const limit = new Limit('supplier-webhook', { perSecond: deps.config.RATE_LIMIT_PER_SECOND, burst: deps.config.RATE_LIMIT_BURST });
  return async (c) => {
    const raw = await c.req.text();
    const signature = check(raw, (name) => c.req.header(name));
    if (!signature.ok) return c.get('failAuthentication')(signature.message, { reason: signature.reason });
    const refused = await limit.take(c, 'supplier');
    if (refused) return refused;
    if (!(await deps.supplierWebhookIds.claim(signature.id, deps.clock.now())))
      throw new AppError('conflict', `The callback ${signature.id} was received already: each webhook-id is applied once`, {
        webhookId: signature.id,
      });
    try {
      const input = SupplierWebhook.safeParse(parseJson(raw));
      if (!input.success) throw validationError(input.error);
      // The supplier is no tenant's credential: the call is a platform one, answered by the order's own tenant.
      const receipt = await deps.client.call(service, 'supplier.webhook', inventoryRpc['supplier.webhook'], input.data, {
        tenantId: null,
        actor: { kind: 'root' },
        timeoutMs: deps.config.RPC_TIMEOUT_MS,
        traceContext: c.get('traceContext'),
      });
      return c.json(receipt, 200);
    } catch (error) {
      await deps.supplierWebhookIds.release(signature.id).catch(() => {});
      throw error;
    }
  };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new AppError('validation_failed', 'The body is not valid JSON', { errors: [{ path: '(body)', message: 'malformed JSON' }] });
  }
}
