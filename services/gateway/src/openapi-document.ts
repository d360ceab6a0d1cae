import { createApp } from './app';
import { gatewayEnv } from './config';
import type { GatewayDeps } from './deps';
import { openApiInfo } from './http/openapi-info';

/**
 * The document `/v1/openapi.json` serves, built in this process without NATS or a database:
 * the typed client is generated from it and its freshness check compares against it. Building
 * the app only reads the configuration; every other dependency is used by handlers, which never
 * run here.
 */
export function openApiDocument() {
  const config = gatewayEnv.parse({
    ROOT_API_KEY: 'document-only-root-key',
    USER_TOKEN_SECRET: 'document-only-user-token-secret-000000',
    NATS_URL: 'nats://127.0.0.1:4222',
    MONGO_URL: 'mongodb://127.0.0.1:27017',
    PORT: '0',
  });
  return createApp({ config } as GatewayDeps).getOpenAPI31Document(openApiInfo);
}
