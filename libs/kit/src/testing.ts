/** Helpers for tests that run against the NATS server and database of the vitest global setup. */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
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

export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
