import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from './logger';

/**
 * Connects to NATS and keeps reconnecting for as long as the process lives. `auth` is the
 * service's own NATS user (deploy/k8s gives each service one); nats.js ignores credentials
 * written into the URL, so they come separately.
 */
export async function connectNats(
  url: string,
  name: string,
  log: Logger,
  auth: { user?: string | undefined; pass?: string | undefined } = {},
): Promise<NatsConnection> {
  const nc = await connect({
    servers: url.split(','),
    name,
    ...(auth.user ? { user: auth.user, pass: auth.pass } : {}),
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
