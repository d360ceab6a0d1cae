import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReadinessCheck = () => Promise<Record<string, boolean>>;

/**
 * `/healthz` (the process is alive), `/readyz` (every dependency answers; 503 naming those
 * that do not) and `/metrics` (Prometheus text) on the service's `PORT`.
 */
export function startHealthServer(
  port: number,
  ready: ReadinessCheck,
  metrics: () => Promise<string>,
): Promise<{ server: Server; port: number }> {
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(await metrics());
      return;
    }
    if (path === '/readyz') {
      const checks = await ready().catch(() => ({ checks: false }));
      const ok = Object.values(checks).every(Boolean);
      return send(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not_ready', checks });
    }
    send(res, 404, { status: 'not_found' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Resolves `promise`, or false after `ms`: a check that hangs counts as failed. */
export function within(ms: number, promise: Promise<unknown>): Promise<boolean> {
  return Promise.race([
    promise.then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) => setTimeout(resolve, ms, false).unref()),
  ]);
}
