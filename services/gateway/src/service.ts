import { defineService } from '@allot/kit';
import { gatewayEnv } from './config';
import { type GatewayOptions, gatewayIndexes, type RunningGateway, serveGateway } from './gateway';
import { clientMessageProjection } from './sse/projector';

/**
 * The gateway: the HTTP API and the SSE stream in front of the domain services. It serves its
 * own health endpoints on its HTTP port; `options` add routes (tests and benchmarks).
 */
export const defineGateway = (options: GatewayOptions = {}) =>
  defineService({
    name: 'gateway',
    env: gatewayEnv,
    indexes: gatewayIndexes,
    healthServer: false,
    context: (service) => service,
    consumers: (service) => clientMessageProjection(service),
    serve: (service) => serveGateway(service, options),
  });

export const gatewayService = defineGateway();

/**
 * Starts a gateway with this environment (tests and benchmarks; `main.ts` runs it as a
 * process): its HTTP port, app and dependencies, and `stop` for the whole service.
 */
export async function startGateway(env: NodeJS.ProcessEnv, options: GatewayOptions = {}) {
  const running = await defineGateway(options).start(env);
  const { port, opsPort, app, deps } = running.served as RunningGateway;
  return { port, opsPort, app, deps, service: running.service, stop: () => running.stop() };
}
