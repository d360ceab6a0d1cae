/**
 * The supplier simulator: `POST /reserve` and `GET /reservations/:ref` as a supplier
 * would answer them, driven per SKU by scenarios (`PUT /_scenarios/:sku`, `DELETE /_scenarios`),
 * with every call it received listed by `GET /_calls?sku=`, and `POST /_callbacks {ref, status}`
 * sending the gateway a signed status callback as a supplier would. State is in memory: it is a
 * test double for the tests and the demo, not a supplier.
 */
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { z } from 'zod';
import { type CallbackTarget, sendCallback } from './callbacks';

const Scenario = z.strictObject({
  reserve: z.enum(['accept', 'reject', 'error']).default('accept'),
  /** Answered in turn by status checks, the last one repeating. */
  statuses: z
    .array(z.enum(['ok', 'fail', 'delayed']))
    .min(1)
    .default(['ok']),
  latencyMs: z.number().int().min(0).max(60_000).default(0),
});
type Scenario = z.infer<typeof Scenario>;

const Callback = z.strictObject({ ref: z.string().min(1), status: z.enum(['ok', 'fail']) });

const Reserve = z.object({ sku: z.string().min(1), qty: z.number().int().min(1), reference: z.string().min(1) });

interface Call {
  at: string;
  method: string;
  path: string;
  sku: string | null;
  body: unknown;
  status: number;
}

interface Reservation {
  ref: string;
  sku: string;
  checks: number;
}

export interface SupplierSimOptions {
  /** Where `POST /_callbacks` sends (read at each call: a test may start the gateway later). */
  callbackTarget?: () => CallbackTarget | undefined;
}

export function supplierSimApp(options: SupplierSimOptions = {}) {
  const scenarios = new Map<string, Scenario>();
  const reservations = new Map<string, Reservation>();
  const byReference = new Map<string, string>();
  const calls: Call[] = [];
  const scenarioOf = (sku: string) => scenarios.get(sku) ?? Scenario.parse({});
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const record = (call: Omit<Call, 'at'>) => calls.push({ at: new Date().toISOString(), ...call });

  const app = new Hono();
  // Liveness and readiness like the services', so `make dev` and compose can wait for it.
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => c.json({ status: 'ready' }));
  app.post('/reserve', async (c) => {
    const parsed = Reserve.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ error: 'sku, qty and reference are required' }, 400);
    const { sku, reference } = parsed.data;
    const scenario = scenarioOf(sku);
    await pause(scenario.latencyMs);
    const status = scenario.reserve === 'error' ? 503 : 200;
    record({ method: 'POST', path: '/reserve', sku, body: parsed.data, status });
    if (scenario.reserve === 'error') return c.json({ error: 'supplier unavailable' }, 503);
    if (scenario.reserve === 'reject') return c.json({ accepted: false, ref: null });
    // One reservation per reference: a retried request gets the same ref.
    const ref = byReference.get(reference) ?? `sup-${reservations.size + 1}-${reference}`;
    byReference.set(reference, ref);
    if (!reservations.has(ref)) reservations.set(ref, { ref, sku, checks: 0 });
    return c.json({ accepted: true, ref });
  });

  app.get('/reservations/:ref', async (c) => {
    const reservation = reservations.get(c.req.param('ref'));
    const scenario = scenarioOf(reservation?.sku ?? '');
    await pause(scenario.latencyMs);
    if (!reservation) {
      record({ method: 'GET', path: c.req.path, sku: null, body: null, status: 404 });
      return c.json({ error: 'no such reservation' }, 404);
    }
    const status = scenario.statuses[Math.min(reservation.checks, scenario.statuses.length - 1)];
    reservation.checks += 1;
    record({ method: 'GET', path: c.req.path, sku: reservation.sku, body: null, status: 200 });
    return c.json({ status });
  });

  app.put('/_scenarios/:sku', async (c) => {
    const parsed = Scenario.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }, 400);
    scenarios.set(c.req.param('sku'), parsed.data);
    return c.json(parsed.data);
  });
  app.delete('/_scenarios', (c) => {
    scenarios.clear();
    return c.body(null, 204);
  });
  app.post('/_callbacks', async (c) => {
    const parsed = Callback.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ error: 'ref and status (ok|fail) are required' }, 400);
    const target = options.callbackTarget?.();
    if (!target) return c.json({ error: 'no gateway to call: set GATEWAY_URL and SUPPLIER_WEBHOOK_SECRET' }, 409);
    return c.json(await sendCallback(target, parsed.data));
  });
  app.get('/_calls', (c) => {
    const sku = c.req.query('sku');
    return c.json({ items: sku ? calls.filter((call) => call.sku === sku) : calls });
  });
  return app;
}

/** Serves the simulator on `port` (0: a free one). */
export async function startSupplierSim(
  port = 0,
  options: SupplierSimOptions = {},
): Promise<{ port: number; url: string; close(): Promise<void> }> {
  const app = supplierSimApp(options);
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
