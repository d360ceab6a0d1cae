/**
 * Context figure for `gateway/throughput.ts`: the same HTTP → NATS request → echo service → reply
 * path as the gateway's probe route, but with bare Hono and a bare NATS client — no gateway
 * middleware (auth, rate limit, request context/tracing), no kit RpcClient. The difference to the
 * gateway's figure is what the gateway's own code costs. Env: NATS_URL.
 */

import { rpcSubject } from '@allot/contracts';
import { serve } from '@hono/node-server';
import { connect } from '@nats-io/transport-node';
import { Hono } from 'hono';
import { BENCH_ECHO } from './contract';
import { serveParent } from './ipc';

const nc = await connect({ servers: process.env.NATS_URL });
const request = JSON.stringify({
  tenantId: 't_bench',
  actor: { kind: 'apiKey', keyId: 'key_bench' },
  input: { service: 'bench', instance: 'x' },
});
const app = new Hono().get('/', async (c) => {
  const reply = await nc.request(rpcSubject('capacity', BENCH_ECHO), request, { timeout: 5000 });
  const body = reply.json<{ ok: boolean; data?: unknown }>();
  return body.ok ? c.json(body.data) : c.json(body, 500);
});
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
  serveParent({ port: info.port }, { stats: () => ({ memory: process.memoryUsage(), cpu: process.cpuUsage() }) }, async () => {
    await new Promise((r) => server.close(r));
    await nc.close();
  }),
);
