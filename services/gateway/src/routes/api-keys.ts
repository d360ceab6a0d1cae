import { ApiKey, Id, Pagination, page } from '@allot/contracts';
import { toPage } from '@allot/kit';
import { createRoute, z } from '@hono/zod-openapi';
import { generateApiKey } from '../auth/api-keys';
import type { GatewayDeps } from '../deps';
import { credentialOf, requireCredential } from '../http/auth';
import { idempotent } from '../http/idempotency';
import { bearer, callableBy, IdempotencyHeader, notFound, problems, router } from '../http/openapi';
import { inRequestTrace } from '../http/request-context';
import { toApiKey } from '../store/api-keys';

const CreateApiKey = z.strictObject({ name: z.string().trim().min(1).max(200) });
const tenantKeyOnly = [requireCredential('apiKey')];

const create = createRoute({
  method: 'post',
  path: '/api-keys',
  summary: 'Create an API key for the tenant (the key is shown once)',
  operationId: 'createApiKey',
  tags: ['API keys'],
  description:
    "Creates another API key of the caller's tenant, with every right in it. Its secret (`key`) is in this answer only; " +
    `a retry with the same \`Idempotency-Key\` replays it to the same caller. ${callableBy('apiKey')}`,
  security: bearer,
  middleware: tenantKeyOnly,
  request: { headers: IdempotencyHeader, body: { required: true, content: { 'application/json': { schema: CreateApiKey } } } },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: ApiKey.extend({ key: z.string() }) } } },
    ...problems(400, 401, 403, 409, 422, 429),
  },
});

const list = createRoute({
  method: 'get',
  path: '/api-keys',
  summary: "List the tenant's live API keys (never their secrets)",
  operationId: 'listApiKeys',
  tags: ['API keys'],
  description: `The tenant's keys that are not revoked, a page at a time: ids, names and dates, never their secrets. ${callableBy('apiKey')}`,
  security: bearer,
  middleware: tenantKeyOnly,
  request: { query: Pagination.strict() },
  responses: { 200: { description: 'Keys', content: { 'application/json': { schema: page(ApiKey) } } }, ...problems(400, 401, 403, 429) },
});

const revoke = createRoute({
  method: 'delete',
  path: '/api-keys/{id}',
  summary: 'Revoke an API key; every gateway replica refuses it within 5 s',
  operationId: 'revokeApiKey',
  tags: ['API keys'],
  description:
    'Revokes a key of the tenant for good. Every gateway replica refuses it within 5 seconds, and the user tokens it ' +
    `issued and the streams opened with either end with it. ${callableBy('apiKey')}`,
  security: bearer,
  middleware: tenantKeyOnly,
  request: { params: z.object({ id: Id }) },
  responses: { 204: { description: 'Revoked' }, ...problems(401, 403, 404, 429) },
});

export function apiKeyRoutes(deps: GatewayDeps) {
  return router()
    .openapi(create, async (c) => {
      const body = c.req.valid('json');
      const credential = credentialOf(c, 'apiKey');
      return idempotent(
        c,
        deps.idempotency,
        body,
        async () => {
          const { key, doc } = generateApiKey(credential.tenantId, body.name, deps.clock.now());
          await deps.apiKeys.insert(doc);
          return c.json({ ...toApiKey(doc), key }, 201);
        },
        { carriesSecret: true },
      );
    })
    .openapi(list, async (c) => {
      const { limit, cursor } = c.req.valid('query');
      const docs = await deps.apiKeys.list(credentialOf(c, 'apiKey').tenantId, limit + 1, cursor);
      return c.json(toPage(docs, limit, toApiKey), 200);
    })
    .openapi(revoke, async (c) => {
      const { id } = c.req.valid('param');
      const { tenantId } = credentialOf(c, 'apiKey');
      const event = deps.event(tenantId, 'apikey.revoked', { keyId: id });
      // The event is stored with the trace it belongs to, which the outbox reads from the active context.
      const revoked = await inRequestTrace(c, () => deps.apiKeys.revoke(tenantId, id, deps.clock.now().toISOString(), event));
      if (!revoked) throw notFound('API key');
      deps.verifier.forget(id);
      return c.body(null, 204);
    });
}
