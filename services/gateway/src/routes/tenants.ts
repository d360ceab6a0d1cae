import { ApiKey, Tenant } from '@allot/contracts';
import { newId } from '@allot/kit';
import { createRoute, z } from '@hono/zod-openapi';
import { generateApiKey } from '../auth/api-keys';
import type { GatewayDeps } from '../deps';
import { requireCredential } from '../http/auth';
import { idempotent } from '../http/idempotency';
import { bearer, callableBy, IdempotencyHeader, problems, router } from '../http/openapi';
import { toApiKey } from '../store/api-keys';

const CreateTenant = z.strictObject({ name: z.string().trim().min(1).max(200) });
const CreatedApiKey = ApiKey.extend({ key: z.string().openapi({ description: 'Shown once' }) });

const create = createRoute({
  method: 'post',
  path: '/tenants',
  summary: 'Create a tenant and its first API key (root key only)',
  operationId: 'createTenant',
  tags: ['Tenants'],
  description:
    "Creates a tenant and its first API key, named `Default`. The key's secret (`apiKey.key`) is in this answer only; " +
    `a retry with the same \`Idempotency-Key\` replays it to the same root key. ${callableBy('root')}`,
  security: bearer,
  middleware: [requireCredential('root')],
  request: { headers: IdempotencyHeader, body: { required: true, content: { 'application/json': { schema: CreateTenant } } } },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: z.object({ tenant: Tenant, apiKey: CreatedApiKey }) } } },
    ...problems(400, 401, 403, 409, 422, 429),
  },
});

export function tenantRoutes(deps: GatewayDeps) {
  return router().openapi(create, async (c) => {
    const body = c.req.valid('json');
    return idempotent(
      c,
      deps.idempotency,
      body,
      async () => {
        const now = deps.clock.now();
        const tenant = { id: newId('t'), name: body.name, createdAt: now.toISOString() };
        const { key, doc } = generateApiKey(tenant.id, 'Default', now);
        // The key first: a crash in between leaves an unusable key, never a tenant without one.
        await deps.apiKeys.insert(doc);
        await deps.tenants.create(tenant);
        return c.json({ tenant, apiKey: { ...toApiKey(doc), key } }, 201);
      },
      { carriesSecret: true },
    );
  });
}
