import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from './logger';

/** Connects to NATS and keeps reconnecting for as long as the process lives. */
export async function connectNats(url: string, name: string, log: Logger): Promise<NatsConnection> {
  const nc = await connect({
    servers: url.split(','),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
    // nats.js otherwise builds two Error objects per request only for async stack traces (~16 % of
    // the gateway's CPU); failures become upstream_unavailable anyway.
    noAsyncTraces: true,
  });
  (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect') log.warn({ nats: status.type }, 'nats connection');
    }
  })().catch(() => {});
  return nc;
}
