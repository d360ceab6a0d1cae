import { rpcSubject } from '@allot/contracts';
import { testNats } from '@allot/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './harness';

describe('gateway operations port', () => {
  let gw: TestGateway;
  let conn: Awaited<ReturnType<typeof testNats>>;
  let pings = 0;
  beforeAll(async () => {
    conn = await testNats();
    // Stands in for a service not built yet (so nothing else answers), counting the pings readiness sends it.
    const service = 'notifications';
    conn.nc.subscribe(rpcSubject(service, 'ping'), {
      callback: (_error, msg) => {
        pings++;
        msg.respond(JSON.stringify({ ok: true, data: { service, instance: 'test' } }));
      },
    });
    await conn.nc.flush();
    gw = await startTestGateway({ READY_SERVICES: service });
  });
  afterAll(async () => {
    await gw.stop();
    await conn.close();
  });

  it('ops - /metrics is served on OPS_PORT only; /readyz details there, none on the API port', async () => {
    expect((await gw.call('GET', '/metrics')).status).toBe(404);
    const metrics = await fetch(`${gw.ops}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('allot_http_request_duration_seconds');

    const publicReady = await gw.call('GET', '/readyz');
    expect(publicReady.status).toBe(200);
    expect(publicReady.body).toEqual({ status: 'ready' });
    const detailed = await fetch(`${gw.ops}/readyz`);
    expect(detailed.status).toBe(200);
    expect(((await detailed.json()) as { checks: unknown }).checks).toMatchObject({ nats: true, mongo: true });
    expect((await gw.call('GET', '/healthz')).status).toBe(200);
  });

  it('ops - /readyz is answered from a probe made at most once a second, however often it is asked', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // past the previous test's probe
    const before = pings;
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 200 }, () => gw.call('GET', '/readyz')));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(pings - before).toBeLessThanOrEqual(1 + Math.floor((Date.now() - started) / 1000));
    await new Promise((r) => setTimeout(r, 1100));
    const probes = pings;
    expect((await gw.call('GET', '/readyz')).status).toBe(200);
    expect(pings - probes).toBe(1); // a second later, a fresh probe
  });
});
