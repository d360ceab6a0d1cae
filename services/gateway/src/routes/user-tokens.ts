import { UserId } from '@allot/contracts';
import { createRoute, z } from '@hono/zod-openapi';
import type { GatewayDeps } from '../deps';
import { credentialOf, requireCredential } from '../http/auth';
import { bearer, problems, router } from '../http/openapi';

const IssueToken = z.strictObject({
  userId: UserId,
  ttlSeconds: z.number().int().min(1).max(86_400).default(3600),
});

const issue = createRoute({
  method: 'post',
  path: '/auth/user-tokens',
  summary: "Issue an end user's token (reads sessions and availability, manages its own bookings, orders, notifications, stream)",
  security: bearer,
  middleware: [requireCredential('apiKey')],
  request: { body: { required: true, content: { 'application/json': { schema: IssueToken } } } },
  responses: {
    201: { description: 'Issued', content: { 'application/json': { schema: z.object({ token: z.string(), expiresAt: z.string() }) } } },
    ...problems(400, 401, 403, 429),
  },
});

export function userTokenRoutes(deps: GatewayDeps) {
  return router().openapi(issue, async (c) => {
    const { userId, ttlSeconds } = c.req.valid('json');
    const { tenantId, keyId } = credentialOf(c, 'apiKey');
    const issued = await deps.userTokens.issue({ tenantId, userId, apiKeyId: keyId }, ttlSeconds, deps.clock.now());
    return c.json(issued, 201);
  });
}
