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
      credentials: [...tenant],
      ...op('sku.list'),
      query: Pagination.strict(),
      input: (r) => r.query,
    }),
    rpcRoute({
      method: 'get',
      path: '/skus/{sku}',
      summary: 'Get a SKU',
      credentials: [...anyone],
      ...op('sku.get'),
      params: SkuRef,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'post',
      path: '/skus/{sku}/restock',
      summary: 'Restock a SKU (waiting orders are served first, oldest first)',
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
      credentials: [...anyone],
      ...op('order.list'),
      query: ListOrders,
      input: (r) => r.query,
    }),
    rpcRoute({
      method: 'get',
      path: '/orders/{id}',
      summary: 'Get an order',
      credentials: [...anyone],
      ...op('order.get'),
      params: byId,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'post',
      path: '/orders/{id}/cancel',
      summary: 'Cancel an order (reserved stock is released)',
      credentials: [...anyone],
      ...op('order.cancel'),
      params: byId,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'post',
      path: '/orders/{id}/fulfil',
      summary: 'Fulfil a reserved order',
      credentials: [...tenant],
      ...op('order.fulfil'),
      params: byId,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'get',
      path: '/inventory/{sku}/movements',
      summary: "A SKU's stock movements, oldest first",
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
  summary:
    'Supplier status callback, signed as Standard Webhooks: webhook-id, webhook-timestamp (unix seconds, within 5 minutes), ' +
    'webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{raw body}">; a webhook-id is applied once',
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
