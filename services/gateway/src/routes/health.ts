import { Hono } from 'hono';
import type { GatewayDeps } from '../deps';
import type { GatewayEnv } from '../http/env';

/**
 * `/healthz` and `/readyz` on the public port, for load balancers: `/readyz` is 200 only when
 * the gateway and every service answer, from the cached probe, and says nothing about which
 * part failed. The details and `/metrics` are on the operations port (`OPS_PORT`).
 */
export function healthRoutes(deps: GatewayDeps) {
  return new Hono<GatewayEnv>()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const ok = Object.values(await deps.readiness()).every(Boolean);
      return c.json({ status: ok ? 'ready' : 'not_ready' }, ok ? 200 : 503);
    });
}
