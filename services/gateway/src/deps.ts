import type { Clock, Logger, RpcClient, Service } from '@allot/kit';
import type { ApiKeyVerifier } from './auth/api-keys';
import type { UserTokens } from './auth/user-tokens';
import type { GatewayConfig } from './config';
import type { Limit } from './http/rate-limit';
import type { CallService } from './http/rpc-bridge';
import type { Fanout } from './sse/fanout';
import type { StreamHub } from './sse/streams';
import type { ApiKeyStore } from './store/api-keys';
import type { IdempotencyStore } from './store/idempotency';
import type { SupplierWebhookIds } from './store/supplier-webhooks';
import type { TenantStore } from './store/tenants';

/** Everything the routes use, built once in `gatewayContext` (the composition root). */
export interface GatewayDeps {
  config: GatewayConfig;
  log: Logger;
  clock: Clock;
  client: RpcClient;
  callService: CallService;
  tenants: TenantStore;
  apiKeys: ApiKeyStore;
  verifier: ApiKeyVerifier;
  userTokens: UserTokens;
  idempotency: IdempotencyStore;
  /** Supplier callbacks received lately, by `webhook-id` (each is applied once). */
  supplierWebhookIds: SupplierWebhookIds;
  /** Makes one of the gateway's catalogued events. */
  event: Service<GatewayConfig, 'gateway'>['event'];
  fanout: Fanout;
  /** The per-credential rate limit, one for the app's middleware and the SSE lane. */
  requestLimit: Limit;
  /** What the open SSE streams share: their limits, heartbeats, key watch and fan-out. */
  streams: StreamHub;
  readiness(): Promise<Record<string, boolean>>;
  metricsText(): Promise<string>;
}
