import { AppError } from '@allot/contracts';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { GatewayDeps } from './deps';
import { AddressTurns } from './http/address-turns';
import { authenticate } from './http/auth';
import { limitBody } from './http/body-limit';
import { clientAddressOf } from './http/client-address';
import { cors, corsOptions } from './http/cors';
import type { GatewayEnv } from './http/env';
import { MatchCache } from './http/match-cache';
import { openApiInfo } from './http/openapi-info';
import { problem, toAppError } from './http/problem';
import { Limit, rateLimit } from './http/rate-limit';
import { requestContext, requestLogger } from './http/request-context';
import { apiKeyRoutes } from './routes/api-keys';
import { availabilityRoutes } from './routes/availability';
import { capacityRoutes } from './routes/capacity';
import { dashboardRoutes } from './routes/dashboard';
import { docsRoutes } from './routes/docs';
import { healthRoutes } from './routes/health';
import { importRoutes } from './routes/imports';
import { inventoryRoutes } from './routes/inventory';
import { limitsRoutes } from './routes/limits';
import { meRoutes } from './routes/me';
import { notificationRoutes } from './routes/notifications';
import { reportRoutes } from './routes/reports';
import { streamRoutes } from './routes/stream';
import { tenantRoutes } from './routes/tenants';
import { userTokenRoutes } from './routes/user-tokens';
import { webhookEndpointRoutes } from './routes/webhook-endpoints';

/**
 * The gateway's HTTP app: middleware in the order every request meets it, then `/v1` routes
 * mounted per domain, the OpenAPI document, docs and health endpoints. Domain issues add their
 * route files to the `/v1` list.
 */
export function createApp(deps: GatewayDeps) {
  const app = new OpenAPIHono<GatewayEnv>({ router: new MatchCache() });
  const { config } = deps;

  app.onError((error, c) => {
    const { error: appError, status } = toAppError(error);
    if (appError.code === 'internal') requestLogger(deps.log, c).error({ err: error }, 'unhandled error');
    return problem(c, appError, status);
  });
  app.notFound((c) => problem(c, new AppError('not_found', `No route ${c.req.method} ${c.req.path}`)));

  app.use(requestContext(deps.log));
  app.use(cors(corsOptions(config)));
  const limitRequest = limitBody(config.BODY_LIMIT_BYTES, (c) => problem(c, tooLarge(config.BODY_LIMIT_BYTES), 413, closeConnection));
  // An import's upload is a file, with its own larger limit (routes/imports.ts).
  const limitUpload = limitBody(config.IMPORT_FILE_LIMIT_BYTES, (c) =>
    problem(c, tooLarge(config.IMPORT_FILE_LIMIT_BYTES), 413, closeConnection),
  );
  app.use('/v1/*', (c, next) => (c.req.path === '/v1/imports' ? limitUpload(c, next) : limitRequest(c, next)));
  app.use(
    '/v1/*',
    authenticate({
      rootKey: config.ROOT_API_KEY,
      apiKeys: deps.verifier,
      userTokens: deps.userTokens,
      now: () => deps.clock.now(),
      addressLimit: new Limit('per-address', {
        perSecond: config.ANONYMOUS_RATE_LIMIT_PER_SECOND,
        burst: config.ANONYMOUS_RATE_LIMIT_BURST,
      }),
      addressTurns: new AddressTurns(config.ANONYMOUS_RATE_LIMIT_BURST),
      clientAddress: clientAddressOf(config.TRUSTED_PROXIES),
      signedPaths: ['/v1/webhooks/supplier'],
    }),
  );
  app.use('/v1/*', rateLimit(deps.requestLimit));

  for (const routes of [
    meRoutes,
    tenantRoutes,
    apiKeyRoutes,
    userTokenRoutes,
    streamRoutes,
    capacityRoutes,
    inventoryRoutes,
    availabilityRoutes,
    notificationRoutes,
    limitsRoutes,
    importRoutes,
    reportRoutes,
    webhookEndpointRoutes,
  ])
    app.route('/v1', routes(deps));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'Root key, tenant API key or user token',
  });
  app.doc31('/v1/openapi.json', openApiInfo);
  app.route('/', docsRoutes());
  app.route('/', healthRoutes(deps));
  app.route('/', dashboardRoutes());
  return app;
}

/** The unread rest of a refused body is still on the socket: the client must not reuse it. */
const closeConnection = { connection: 'close' };

function tooLarge(limit: number) {
  return new AppError('validation_failed', `Request body exceeds ${limit} bytes`, {
    errors: [{ path: '(body)', message: `larger than ${limit} bytes` }],
  });
}
