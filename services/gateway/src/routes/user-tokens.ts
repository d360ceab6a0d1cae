import { UserId } from '@allot/contracts';
import { createRoute, z } from '@hono/zod-openapi';
import type { GatewayDeps } from '../deps';
import { credentialOf, requireCredential } from '../http/auth';
import { bearer, callableBy, problems, router } from '../http/openapi';

const IssueToken = z.strictObject({
  userId: UserId,
  ttlSeconds: z.number().int().min(1).max(86_400).default(3600),
});

const issue = createRoute({
  method: 'post',
  path: '/auth/user-tokens',
  summary: "Issue an end user's token (reads sessions and availability, manages its own bookings, orders, notifications, stream)",
  operationId: 'issueUserToken',
  tags: ['User tokens'],
  description:
    'Issues a token for one end user of the tenant, valid for `ttlSeconds` (default an hour, at most a day), for a browser or app ' +
    "to hold instead of the API key. It may read sessions and availability and act on that user's own bookings, waitlist entries, " +
    `orders and notifications; revoking the API key that issued it ends it. ${callableBy('apiKey')}`,
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
