import { createHmac, timingSafeEqual } from 'node:crypto';
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
import type { GatewayDeps } from '../deps';
import { problems, router } from '../http/openapi';
import { registerRpcRoutes, rpcRoute } from '../http/rpc-route';

const byId = z.object({ id: Id });
const tenant = ['apiKey'] as const;
const anyone = ['apiKey', 'user'] as const;
const service = 'inventory' as const;
const op = <K extends keyof InventoryRpc>(operation: K) => ({ service, operation, contract: inventoryRpc[operation] });

/** SPEC §6: SKUs, stock, orders, the movements ledger, and the supplier's signed callback. */
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
  return app.openapi(webhookRoute, async (c) => {
    const raw = await c.req.text();
    if (!signedBy(deps.config.SUPPLIER_WEBHOOK_SECRET, raw, c.req.header('x-supplier-signature')))
      throw new AppError('unauthorized', 'X-Supplier-Signature does not match the body');
    const input = SupplierWebhook.safeParse(parseJson(raw));
    if (!input.success) throw validationError(input.error);
    // The supplier is no tenant's credential: the call is a platform one, answered by the order's own tenant.
    const receipt = await deps.client.call(service, 'supplier.webhook', inventoryRpc['supplier.webhook'], input.data, {
      tenantId: null,
      actor: { kind: 'root' },
      timeoutMs: deps.config.RPC_TIMEOUT_MS,
    });
    return c.json(receipt, 200);
  });
}

const webhookRoute = createRoute({
  method: 'post',
  path: '/webhooks/supplier',
  summary: 'Supplier status callback, signed: X-Supplier-Signature: sha256=<hex HMAC-SHA256 of the raw body>',
  // The body ({ref, status: ok|fail}) is read raw, for the signature, and validated after it: no validator here.
  responses: {
    200: { description: 'Received (a final order is left unchanged)', content: { 'application/json': { schema: WebhookReceipt } } },
    ...problems(400, 401, 404, 429, 503),
  },
});

/** Checks `sha256=<hex>` against the HMAC of the raw body, in constant time; never true without a secret. */
function signedBy(secret: string | undefined, raw: string, header: string | undefined): boolean {
  if (!secret || !header?.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  const presented = Buffer.from(header.slice('sha256='.length), 'hex');
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new AppError('validation_failed', 'The body is not valid JSON', { errors: [{ path: '(body)', message: 'malformed JSON' }] });
  }
}
