/** Starts a real gateway (real NATS + FerretDB, real HTTP port) for tests, and talks to it like a client. */
import { randomBytes } from 'node:crypto';
import { createService, type Service } from '@allot/kit';
import { testEnv } from '@allot/kit/testing';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { type GatewayConfig, gatewayEnv } from '../src/config';
import { type GatewayOptions, gatewayIndexes, type RunningGateway, startGateway } from '../src/gateway';

export interface TestGateway {
  base: string;
  rootKey: string;
  service: Service<GatewayConfig>;
  gateway: RunningGateway;
  call: (method: string, path: string, options?: CallOptions) => Promise<Reply>;
  stop(): Promise<void>;
}

export interface CallOptions {
  key?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** A gateway on a free port. `env` overrides its settings; `MONGO_DB` shares a database between replicas. */
export async function startTestGateway(env: NodeJS.ProcessEnv = {}, options: GatewayOptions = {}): Promise<TestGateway> {
  const rootKey = env.ROOT_API_KEY ?? `root_${randomBytes(16).toString('hex')}`;
  const service = await createService({
    name: 'gateway',
    envSchema: gatewayEnv,
    env: testEnv({ ROOT_API_KEY: rootKey, READY_SERVICES: '', RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000', ...env }),
    indexes: gatewayIndexes,
  });
  const gateway = await startGateway(service, options);
  await service.start({ healthServer: false });
  const base = `http://127.0.0.1:${gateway.port}`;
  return {
    base,
    rootKey,
    service,
    gateway,
    call: (method, path, options = {}) => call(base, method, path, options),
    async stop() {
      await gateway.close();
      await service.stop();
    },
  };
}

export async function call(base: string, method: string, path: string, { key, body, headers = {} }: CallOptions = {}): Promise<Reply> {
  const h: Record<string, string> = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  if (body !== undefined) h['content-type'] ??= 'application/json';
  const res = await fetch(base + path, {
    method,
    headers: h,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, headers: res.headers, body: json, text };
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

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** An SSE client (parsing by eventsource-parser) that collects events and comments until closed. */
export function openStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let retry: number | undefined;
  const response = fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal }).then((res) => {
    if (res.ok && res.body) {
      res.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream({ onComment: (c) => comments.push(c), onRetry: (r) => (retry = r) }))
        .pipeTo(new WritableStream({ write: (e) => void events.push({ id: e.id, event: e.event, data: e.data }) }))
        .catch(() => {});
    }
    return res;
  });
  return {
    response,
    events,
    comments,
    get retry() {
      return retry;
    },
    close: () => controller.abort(),
  };
}

export async function eventually<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
