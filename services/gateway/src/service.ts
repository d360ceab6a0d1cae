import { defineService, every } from '@allot/kit';
import { revocationListener } from './auth/revocations';
import { gatewayEnv } from './config';
import { type GatewayOptions, gatewayContext } from './context';
import { listen } from './listen';
import { fanoutWork } from './sse/fanout';
import { clientMessageProjection } from './sse/projector';
import { apiKeyIndexes } from './store/api-keys';
import { idempotencyIndexes } from './store/idempotency';
import { supplierWebhookIndexes } from './store/supplier-webhooks';

/**
 * The gateway: the HTTP API and the SSE stream in front of the domain services. It serves its
 * own health endpoints on its HTTP port; `options` add routes (tests and benchmarks).
 */
export const defineGateway = (options: GatewayOptions = {}) =>
  defineService({
    name: 'gateway',
    env: gatewayEnv,
    indexes: { apiKeys: apiKeyIndexes, idempotency: idempotencyIndexes, supplierWebhookIds: supplierWebhookIndexes },
    healthServer: false,
    context: (service) => gatewayContext(service, options),
    consumers: (gw) => clientMessageProjection(gw),
    background: (gw) => [fanoutWork(gw.deps.fanout), revocationListener(gw.nc, gw.deps.verifier)],
    tasks: ({ deps: { idempotency, supplierWebhookIds, clock } }) => [
      every(60_000, 'idempotency-purge', () => idempotency.purgeExpired(clock.now())),
      every(60_000, 'supplier-webhook-ids-purge', () => supplierWebhookIds.purgeExpired(clock.now())),
    ],
    serve: listen,
  });

export const gatewayService = defineGateway();

/**
 * Starts a gateway with this environment (tests and benchmarks; `main.ts` runs it as a
 * process): its HTTP ports, app and dependencies, and `stop` for the whole service.
 */
export async function startGateway(env: NodeJS.ProcessEnv, options: GatewayOptions = {}) {
  const { served, context, service, stop } = await defineGateway(options).start(env);
  if (!served) throw new Error('the gateway started without its HTTP servers');
  return { port: served.port, opsPort: served.opsPort, app: context.app, deps: context.deps, service, stop };
}
