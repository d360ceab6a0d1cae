import { ping } from '@allot/contracts';
import { Hono } from 'hono';
import type { GatewayDeps } from '../deps';
import type { GatewayEnv } from '../http/env';

/** `/healthz`, `/readyz` (200 only when the gateway and every service answer) and `/metrics`. */
export function healthRoutes(deps: GatewayDeps) {
  return new Hono<GatewayEnv>()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const [own, ...services] = await Promise.all([
        deps.readiness(),
        ...deps.config.READY_SERVICES.map((name) =>
          deps.client
            .call(name as never, 'ping', ping, {}, { tenantId: null, actor: { kind: 'root' }, timeoutMs: 1000 })
            .then(() => [name, true] as const)
            .catch(() => [name, false] as const),
        ),
      ]);
      const checks = { ...own, ...Object.fromEntries(services) };
      const ok = Object.values(checks).every(Boolean);
      return c.json({ status: ok ? 'ready' : 'not_ready', checks }, ok ? 200 : 503);
    })
    .get('/metrics', async (c) => c.text(await deps.metricsText(), 200, { 'content-type': 'text/plain; version=0.0.4' }));
}
