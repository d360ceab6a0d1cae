export { eventually, openStream, type Reply } from '@allot/kit/testing';

/** Starts a real gateway (real NATS + FerretDB, real HTTP port) for tests, and talks to it like a client. */
import { randomBytes } from 'node:crypto';
import type { Service } from '@allot/kit';
import { type CallOptions, call, type Reply, testEnv } from '@allot/kit/testing';
import type { GatewayConfig } from '../src/config';
import type { GatewayOptions } from '../src/context';
import { startGateway } from '../src/service';

export interface TestGateway {
  base: string;
  /** The operations port's base URL (`/metrics`, detailed `/readyz`). */
  ops: string;
  rootKey: string;
  service: Service<GatewayConfig, 'gateway'>;
  gateway: Awaited<ReturnType<typeof startGateway>>;
  call: (method: string, path: string, options?: CallOptions) => Promise<Reply>;
  stop(): Promise<void>;
}

/** The user-token secret test gateways share (replicas of one deployment share it). */
export const testUserTokenSecret = 'test-user-token-secret-0123456789abcdef';

/** A gateway on a free port. `env` overrides its settings; `MONGO_DB` shares a database between replicas. */
export async function startTestGateway(env: NodeJS.ProcessEnv = {}, options: GatewayOptions = {}): Promise<TestGateway> {
  const rootKey = env.ROOT_API_KEY ?? `root_${randomBytes(16).toString('hex')}`;
  const gateway = await startGateway(
    testEnv({
      ROOT_API_KEY: rootKey,
      USER_TOKEN_SECRET: testUserTokenSecret,
      OPS_PORT: '0',
      READY_SERVICES: '',
      RATE_LIMIT_PER_SECOND: '100000',
      RATE_LIMIT_BURST: '100000',
      SSE_MAX_STREAMS_PER_CREDENTIAL: '100000',
      SSE_MAX_STREAMS_PER_TENANT: '100000',
      ...env,
    }),
    options,
  );
  const base = `http://127.0.0.1:${gateway.port}`;
  return {
    base,
    ops: `http://127.0.0.1:${gateway.opsPort}`,
    rootKey,
    service: gateway.service,
    gateway,
    call: (method, path, options = {}) => call(base, method, path, options),
    stop: () => gateway.stop(),
  };
}

/** Creates a tenant with the root key; returns its id and API key. */
export async function createTenant(gw: TestGateway, name = 'Test tenant'): Promise<{ tenantId: string; key: string; keyId: string }> {
  const res = await gw.call('POST', '/v1/tenants', { key: gw.rootKey, body: { name } });
  if (res.status !== 201) throw new Error(`tenant creation failed: ${res.status} ${res.text}`);
  return { tenantId: res.body.tenant.id, key: res.body.apiKey.key, keyId: res.body.apiKey.id };
}

export async function userToken(gw: TestGateway, apiKey: string, userId: string, ttlSeconds?: number): Promise<string> {
  const res = await gw.call('POST', '/v1/auth/user-tokens', { key: apiKey, body: { userId, ttlSeconds } });
  if (res.status !== 201) throw new Error(`token failed: ${res.status} ${res.text}`);
  return res.body.token;
}

/** A stored message's time (`StoredMsg.timestamp`, RFC 3339 with nanoseconds) as nanoseconds since the epoch. */
export function nanosOf(timestamp: string): string {
  const [, seconds, fraction = ''] = /^(.*?)(?:\.(\d+))?Z$/.exec(timestamp) as RegExpExecArray;
  return (BigInt(Date.parse(`${seconds}Z`)) * 1_000_000n + BigInt(fraction.padEnd(9, '0'))).toString();
}
