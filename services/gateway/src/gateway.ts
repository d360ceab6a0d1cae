import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEnvelope, eventOfEveryTenant, parseCatalogEvent } from '@allot/contracts';
import { ensureStream, type Service, startHealthServer } from '@allot/kit';
import { serve } from '@hono/node-server';
import { createApp } from './app';
import { ApiKeyVerifier } from './auth/api-keys';
import { SUPPLIER_TOLERANCE_MS } from './auth/supplier-signature';
import { UserTokens } from './auth/user-tokens';
import type { GatewayConfig } from './config';
import type { GatewayDeps } from './deps';
import { cachedReadiness } from './http/readiness';
import { createRpcBridge } from './http/rpc-bridge';
import { clientStreamConfig } from './sse/client-messages';
import { Fanout } from './sse/fanout';
import { type ApiKeyDoc, ApiKeyStore, apiKeyIndexes } from './store/api-keys';
import { IdempotencyStore, idempotencyIndexes } from './store/idempotency';
import { SupplierWebhookIds, supplierWebhookIndexes } from './store/supplier-webhooks';
import { TenantStore } from './store/tenants';

export const gatewayIndexes = { apiKeys: apiKeyIndexes, idempotency: idempotencyIndexes, supplierWebhookIds: supplierWebhookIndexes };

export interface RunningGateway {
  app: ReturnType<typeof createApp>;
  deps: GatewayDeps;
  port: number;
  /** The operations port: `/metrics` and the detailed `/readyz`. */
  opsPort: number;
  /** Stops taking requests, ends the SSE streams and waits for requests in flight. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** Adds routes before the app serves (tests and benchmarks use it for probe routes). */
  extend?: (app: ReturnType<typeof createApp>, deps: GatewayDeps) => void;
}

/** Wires the gateway on a started-up service and serves it on `PORT`. */
export async function serveGateway(service: Service<GatewayConfig, 'gateway'>, options: GatewayOptions = {}): Promise<RunningGateway> {
  const { config, db, log } = service;
  await ensureStream(service.jsm, clientStreamConfig(config.SSE_REPLAY_MINUTES), config.NATS_STREAM_REPLICAS);
  const apiKeys = new ApiKeyStore(service.outboxCollection<ApiKeyDoc>('apiKeys'));
  const verifier = new ApiKeyVerifier(apiKeys, config.API_KEY_CACHE_MS);
  const idempotency = new IdempotencyStore(db, config.IDEMPOTENCY_TTL_HOURS * 3_600_000);
  // A signed callback passes while its timestamp is within the tolerance either side of now.
  const supplierWebhookIds = new SupplierWebhookIds(db, 2 * SUPPLIER_TOLERANCE_MS + 60_000);
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
    idempotency,
    supplierWebhookIds,
    event: (tenantId, type, data) => service.event(tenantId, type, data),
    fanout,
    readiness: cachedReadiness(() => service.readiness(), service.client, config.READY_SERVICES),
    metricsText: () => service.telemetry.metricsText(),
  };

  // Revocations made on any replica reach this one at once (the key cache is the fallback).
  const revocations = service.nc.subscribe(eventOfEveryTenant('gateway', 'apikey.revoked'), {
    callback: (_error, msg) => {
      try {
        const event = parseCatalogEvent('gateway', EventEnvelope.parse(msg.json()));
        if (event?.type === 'apikey.revoked') verifier.forget(event.data.keyId);
      } catch {
        // Not a revocation this replica understands: its key cache lets the key go within seconds anyway.
      }
    },
  });
  await fanout.start();
  const purge = setInterval(() => {
    idempotency.purgeExpired(service.clock.now()).catch(() => {});
    supplierWebhookIds.purgeExpired(service.clock.now()).catch(() => {});
  }, 60_000);
  purge.unref();

  const app = createApp(deps);
  options.extend?.(app, deps);
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.PORT }, () => resolve(s as Server));
  });
  const port = (server.address() as AddressInfo).port;
  const ops = await startHealthServer(config.OPS_PORT, deps.readiness, deps.metricsText);
  log.info({ port, opsPort: ops.port }, 'gateway listening');

  return {
    app,
    deps,
    port,
    opsPort: ops.port,
    async close() {
      clearInterval(purge);
      verifier.stop();
      revocations.unsubscribe();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await fanout.stop();
      server.closeIdleConnections();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000).unref())]);
      await new Promise((resolve) => ops.server.close(resolve));
    },
  };
}
