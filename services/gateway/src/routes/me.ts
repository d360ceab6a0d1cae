import { Tenant } from '@allot/contracts';
import { createRoute, z } from '@hono/zod-openapi';
import type { Credential } from '../auth/credentials';
import type { GatewayDeps } from '../deps';
import { credentialOf } from '../http/auth';
import { bearer, callableBy, problems, router } from '../http/openapi';

const Me = z
  .object({
    tenant: Tenant.nullable().openapi({ description: 'The tenant the credential acts in; null for the root key' }),
    credential: z.object({
      kind: z.enum(['root', 'apiKey', 'user']),
      id: z.string().openapi({ description: 'The API key id (for a user token: the key that minted it); "root" for the root key' }),
      expiresAt: z.string().nullable().openapi({ description: "A user token's expiry; null for keys" }),
    }),
    user: z.object({ id: z.string() }).nullable(),
    limits: z.object({
      rateLimit: z.object({ perSecond: z.number().int(), burst: z.number().int() }),
      streams: z.object({ perCredential: z.number().int(), perTenant: z.number().int() }),
    }),
  })
  .openapi('Me');

const me = createRoute({
  method: 'get',
  path: '/me',
  summary: 'Who am I: tenant, credential kind, user and limits of the credential that calls (any credential)',
  operationId: 'getMe',
  tags: ['Tenants'],
  description:
    "The calling credential's tenant, kind, id and expiry, its user (for a user token) and the rate and stream limits it has: " +
    `where an integrator learns its tenant id. ${callableBy('root', 'apiKey', 'user')}`,
  security: bearer,
  responses: {
    200: { description: 'The calling credential', content: { 'application/json': { schema: Me } } },
    ...problems(401, 429),
  },
});

/** `GET /v1/me`: integrators learn their tenant id here (for `evt.<service>.<tenantId>.>` filters). */
export function meRoutes(deps: GatewayDeps) {
  return router().openapi(me, async (c) => {
    const credential = credentialOf(c, 'root', 'apiKey', 'user');
    const tenant = credential.tenantId ? ((await deps.tenants.get(credential.tenantId)) ?? null) : null;
    const { config } = deps;
    return c.json(
      {
        tenant,
        credential: describeCredential(credential),
        user: credential.kind === 'user' ? { id: credential.userId } : null,
        limits: {
          rateLimit: { perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST },
          streams: { perCredential: config.SSE_MAX_STREAMS_PER_CREDENTIAL, perTenant: config.SSE_MAX_STREAMS_PER_TENANT },
        },
      },
      200,
    );
  });
}

function describeCredential(credential: Credential) {
  switch (credential.kind) {
    case 'root':
      return { kind: credential.kind, id: 'root', expiresAt: null };
    case 'apiKey':
      return { kind: credential.kind, id: credential.keyId, expiresAt: null };
    case 'user':
      return { kind: credential.kind, id: credential.apiKeyId, expiresAt: new Date(credential.expiresAt).toISOString() };
  }
}
