/** Helpers for tests that run against the NATS server and database of the vitest global setup. */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { inject } from 'vitest';
import { newId } from './ids';
import { createLogger } from './logger';

/** An environment for a service under test: the shared servers, its own database, quiet logs. */
export function testEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    NATS_URL: inject('natsUrl'),
    MONGO_URL: inject('mongoUrl'),
    MONGO_DB: newId('test').toLowerCase(),
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  };
}

/** A plain NATS connection with JetStream handles, closed by `close()`. */
export async function testNats(): Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager; close(): Promise<void> }> {
  const nc = await connect({ servers: inject('natsUrl') });
  return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc), close: () => nc.drain() };
}

export const testLogger = () => createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');

/** A name no other test uses: streams, subjects and tenants are unique per test. */
export const uniqueName = (prefix: string) => `${prefix}_${newId('').slice(1)}`.toUpperCase().replace(/-/g, '_');

/**
 * Polls `probe` until it returns something truthy (which it returns), or fails after `timeoutMs`;
 * the failure carries what `explain` says of the state it gave up on.
 */
export async function eventually<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  stepMs = 25,
  explain?: () => unknown,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) {
      const state = explain ? `: ${JSON.stringify(await explain())}` : '';
      throw new Error(`condition not met in time${state}`);
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
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

/** Calls an HTTP API as a client: a bearer credential, a JSON body, the reply parsed if it is JSON. */
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
  let ended = false;
  const response = fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal }).then((res) => {
    if (res.ok && res.body) {
      res.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream({ onComment: (c) => comments.push(c), onRetry: (r) => (retry = r) }))
        .pipeTo(new WritableStream({ write: (e) => void events.push({ id: e.id, event: e.event, data: e.data }) }))
        .catch(() => {})
        .finally(() => (ended = true));
    }
    return res;
  });
  return {
    response,
    events,
    comments,
    /** The server ended the stream (or it was closed). */
    get ended() {
      return ended;
    },
    get retry() {
      return retry;
    },
    close: () => controller.abort(),
  };
}
