import { inboxPrefix, type ServiceName } from '@allot/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from './logger';
import { connectCoalescing } from './nats-transport';

/**
 * Connects to NATS and keeps reconnecting for as long as the process lives. `auth` is the
 * service's own NATS user (deploy/k8s gives each service one); nats.js ignores credentials
 * written into the URL, so they come separately. Replies come to the service's own inbox
 * prefix (`_INBOX_<service>`): its user may subscribe to no other, and no other user to it.
 * JetStream's clients take the connection's prefix for their replies and pull consumers too.
 */
export async function connectNats(
  url: string,
  name: ServiceName,
  log: Logger,
  auth: { user?: string | undefined; pass?: string | undefined } = {},
): Promise<NatsConnection> {
  const nc = await connectCoalescing({
    servers: url.split(','),
    name,
    inboxPrefix: inboxPrefix(name),
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
