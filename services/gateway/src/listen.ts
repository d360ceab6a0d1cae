import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { startHealthServer } from '@allot/kit';
import { getRequestListener } from '@hono/node-server';
import type { Gateway } from './context';
import { streamLane } from './routes/stream-lane';

export interface ListeningGateway {
  port: number;
  /** The operations port: `/metrics` and the detailed `/readyz`. */
  opsPort: number;
  /** Stops taking requests, ends the SSE streams and waits for requests in flight. */
  close(): Promise<void>;
}

/** How long shutdown waits for requests in flight to end. */
const CLOSE_WAIT_MS = 5000;

/** The gateway's `serve`: its app on `PORT`, its operations endpoints on `OPS_PORT`. */
export async function listen({ app, deps }: Gateway): Promise<ListeningGateway> {
  const { config, log } = deps;
  // @hono/node-server's `serve`, with most SSE streams opened in the lane before Node's HTTP
  // server sees their connections (routes/stream-lane.ts): the lane takes each new connection,
  // and gives Node's own connection handling those it does not serve.
  const server = createServer(getRequestListener(app.fetch));
  const [nodeConnection] = server.listeners('connection') as ((socket: Socket) => void)[];
  if (!nodeConnection) throw new Error("Node's HTTP server has no connection listener to put the SSE lane before");
  server.removeAllListeners('connection');
  const lane = streamLane(deps, (socket) => nodeConnection.call(server, socket));
  server.on('connection', lane.accept);
  await new Promise<void>((resolve) => server.listen(config.PORT, resolve));
  const port = (server.address() as AddressInfo).port;
  const ops = await startHealthServer(config.OPS_PORT, deps.readiness, deps.metricsText);
  log.info({ port, opsPort: ops.port }, 'gateway listening');
  return {
    port,
    opsPort: ops.port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      lane.close();
      // Open SSE streams would keep the server from closing: end them (the fan-out's stop).
      await deps.fanout.stop();
      server.closeIdleConnections();
      const gaveUp = new Promise<'gave up'>((r) => setTimeout(() => r('gave up'), CLOSE_WAIT_MS).unref());
      if ((await Promise.race([closed, gaveUp])) === 'gave up') {
        log.warn({ waitedMs: CLOSE_WAIT_MS }, 'connections still open at shutdown; stopping without them');
      }
      await new Promise((resolve) => ops.server.close(resolve));
    },
  };
}
