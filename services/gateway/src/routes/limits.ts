import { AppError, BulkLimits, capacityRpc, HoardingLimits, inventoryRpc, notificationsRpc, OrderLimits } from '@allot/contracts';
import { createRoute } from '@hono/zod-openapi';
import type { GatewayDeps } from '../deps';
import { requireCredential } from '../http/auth';
import { bearer, callableBy, problems, router } from '../http/openapi';

/**
 * A tenant's limits, one object for clients: each service keeps and enforces its own part
 * (bookings and the waitlist in capacity, orders in inventory, bulk sends in notifications). The
 * parts of a service that is not deployed are left out.
 */
const TenantLimits = HoardingLimits.extend(OrderLimits.partial().shape).extend(BulkLimits.partial().shape).openapi('TenantLimits');
const UpdateTenantLimits = HoardingLimits.extend(OrderLimits.shape)
  .extend(BulkLimits.shape)
  .partial()
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, 'name at least one limit to change')
  .openapi('UpdateTenantLimits');

/** The part of an optional service: nothing if that service does not answer (it is not deployed). */
async function optional<T>(part: Promise<T>): Promise<T | Record<string, never>> {
  try {
    return await part;
  } catch (error) {
    if (error instanceof AppError && error.code === 'upstream_unavailable') return {};
    throw error;
  }
}

/** Which part of a patch goes to which service. */
function split<K extends string>(patch: Partial<Record<string, number>>, shape: Record<K, unknown>): Partial<Record<K, number>> {
  return Object.fromEntries(Object.entries(patch).filter(([key]) => key in shape)) as Partial<Record<K, number>>;
}

const read = createRoute({
  method: 'get',
  path: '/limits',
  summary: "The tenant's limits: against hoarding bookings, on a user's orders, and its quota on bulk sends",
  operationId: 'getLimits',
  tags: ['Limits'],
  description:
    "All of the tenant's limits in one object: seats and waitlist entries a user may hold, a user's open orders, and the quota on " +
    `bulk sends. The limits of a service that is not deployed are left out. ${callableBy('apiKey', 'user')}`,
  security: bearer,
  middleware: [requireCredential('apiKey', 'user')],
  responses: {
    200: { description: 'The limits', content: { 'application/json': { schema: TenantLimits } } },
    ...problems(401, 403, 429, 503),
  },
});

const change = createRoute({
  method: 'patch',
  path: '/limits',
  summary: "Change some of the tenant's limits (an API key only); answers all of them",
  operationId: 'updateLimits',
  tags: ['Limits'],
  description:
    'Changes the named limits and answers all of them; every gateway replica applies a change within 5 seconds. A 503 may have ' +
    `changed some and not others: send the same change again (setting a limit twice is harmless). ${callableBy('apiKey')}`,
  security: bearer,
  middleware: [requireCredential('apiKey')],
  request: { body: { required: true, content: { 'application/json': { schema: UpdateTenantLimits } } } },
  responses: {
    200: { description: 'The limits after the change', content: { 'application/json': { schema: TenantLimits } } },
    ...problems(400, 401, 403, 429, 503),
  },
});

/** `GET/PATCH /v1/limits`: asks (or changes) each service's part and answers them together. */
export function limitsRoutes(deps: GatewayDeps) {
  return router()
    .openapi(read, async (c) => {
      const [hoarding, orders, bulk] = await Promise.all([
        deps.callService(c, 'capacity', 'limits.get', capacityRpc['limits.get'], {}),
        optional(deps.callService(c, 'inventory', 'limits.get', inventoryRpc['limits.get'], {})),
        optional(deps.callService(c, 'notifications', 'limits.get', notificationsRpc['limits.get'], {})),
      ]);
      return c.json({ ...hoarding, ...orders, ...bulk }, 200);
    })
    .openapi(change, async (c) => {
      const patch = c.req.valid('json');
      // A part with nothing to change is only read, so the answer shows every limit; a change
      // for a service that does not answer is a 503, never silently dropped.
      const hoardingPatch = split(patch, HoardingLimits.shape);
      const orderPatch = split(patch, OrderLimits.shape);
      const bulkPatch = split(patch, BulkLimits.shape);
      const changes = (named: object) => Object.keys(named).length > 0;
      const [hoarding, orders, bulk] = await Promise.all([
        changes(hoardingPatch)
          ? deps.callService(c, 'capacity', 'limits.set', capacityRpc['limits.set'], hoardingPatch)
          : deps.callService(c, 'capacity', 'limits.get', capacityRpc['limits.get'], {}),
        changes(orderPatch)
          ? deps.callService(c, 'inventory', 'limits.set', inventoryRpc['limits.set'], orderPatch)
          : optional(deps.callService(c, 'inventory', 'limits.get', inventoryRpc['limits.get'], {})),
        changes(bulkPatch)
          ? deps.callService(c, 'notifications', 'limits.set', notificationsRpc['limits.set'], bulkPatch)
          : optional(deps.callService(c, 'notifications', 'limits.get', notificationsRpc['limits.get'], {})),
      ]);
      return c.json({ ...hoarding, ...orders, ...bulk }, 200);
    });
}
