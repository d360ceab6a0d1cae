import { ensureStream, type Service } from '@allot/kit';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { createApp } from './app';
import { ApiKeyVerifier } from './auth/api-keys';
import { SUPPLIER_TOLERANCE_MS } from './auth/supplier-signature';
import { UserTokens } from './auth/user-tokens';
import type { GatewayConfig } from './config';
import type { GatewayDeps } from './deps';
import { Limit } from './http/rate-limit';
import { cachedReadiness } from './http/readiness';
import { createRpcBridge } from './http/rpc-bridge';
import { clientStreamConfig } from './sse/client-messages';
import { Fanout } from './sse/fanout';
import { streamHub } from './sse/streams';
import { type ApiKeyDoc, ApiKeyStore } from './store/api-keys';
import { IdempotencyStore } from './store/idempotency';
import { SupplierWebhookIds } from './store/supplier-webhooks';
import { TenantStore } from './store/tenants';

export type GatewayService = Service<GatewayConfig, 'gateway'>;
export type GatewayApp = ReturnType<typeof createApp>;

export interface GatewayOptions {
  /** Adds routes before the app serves (tests and benchmarks use it for probe routes). */
  extend?: (app: GatewayApp, deps: GatewayDeps) => void;
}

/** What the gateway is made of: the routes' dependencies, the HTTP app on them, and NATS for its own background work. */
export interface Gateway {
  /** What the routes use. */
  deps: GatewayDeps;
  /** The HTTP API over `deps`, with the routes the options add; `serve` only listens with it. */
  app: GatewayApp;
  /** Where the client-message projection publishes (the `CLIENT` stream). */
  js: JetStreamClient;
  /** Where every replica hears of API keys revoked on any of them. */
  nc: NatsConnection;
}

/**
 * The composition root: the stores, caches, the SSE fan-out and the RPC bridge, built once on
 * the connected service, and the app made on them. The `CLIENT` stream is made sure of first, so
 * the projection has somewhere to publish from its first event.
 */
export async function gatewayContext(service: GatewayService, options: GatewayOptions = {}): Promise<Gateway> {
  const { config, db, log } = service;
  await ensureStream(service.jsm, clientStreamConfig(config.SSE_REPLAY_MINUTES), config.NATS_STREAM_REPLICAS, log);
  const apiKeys = new ApiKeyStore(service.outboxCollection<ApiKeyDoc>('apiKeys'));
  const verifier = new ApiKeyVerifier(apiKeys, config.API_KEY_CACHE_MS);
  const fanout = new Fanout(service.js, service.jsm, log, { maxHeldPerListener: config.SSE_REPLAY_BUFFER_MESSAGES });
  const deps: GatewayDeps = {
    config,
    log,
    clock: service.clock,
    client: service.client,
    callService: createRpcBridge(service.client, config.RPC_TIMEOUT_MS),
    tenants: new TenantStore(db),
    apiKeys,
    verifier,
    userTokens: new UserTokens(config.USER_TOKEN_SECRET, config.USER_TOKEN_PREVIOUS_SECRETS),
    idempotency: new IdempotencyStore(db, config.IDEMPOTENCY_TTL_HOURS * 3_600_000),
    // A signed callback passes while its timestamp is within the tolerance either side of now.
    supplierWebhookIds: new SupplierWebhookIds(db, 2 * SUPPLIER_TOLERANCE_MS + 60_000),
    event: (tenantId, type, data) => service.event(tenantId, type, data),
    fanout,
    requestLimit: new Limit('per-credential', { perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST }),
    streams: streamHub(config, verifier, fanout),
    readiness: cachedReadiness(() => service.readiness(), service.client, config.READY_SERVICES),
    metricsText: () => service.telemetry.metricsText(),
  };
  const app = createApp(deps);
  options.extend?.(app, deps);
  return { deps, app, js: service.js, nc: service.nc };
}
