/**
 * The peer of `gateway/throughput.ts`: the same HTTP → NATS request → echo service → reply path
 * as the gateway's probe routes (`GET /` answers the echo of a fixed input, `POST /` the echo of
 * its JSON body), but with bare Hono and a bare NATS client — no gateway
 * middleware (auth, rate limit, request context/tracing), no kit RpcClient. The difference to the
 * gateway's figure is what the gateway's own code costs. Env: NATS_URL.
 */

import { rpcSubject } from '@allot/contracts';
import { serve } from '@hono/node-server';
import { connect } from '@nats-io/transport-node';
import { Hono } from 'hono';
import { BENCH_ECHO } from './contract';
import { serveParent } from './ipc';

// As the kit connects every service: without the error each request would otherwise build up front
// for its stack (about a seventh of this process's CPU when profiled), which is client setup, not gateway code.
const nc = await connect({ servers: process.env.NATS_URL, noAsyncTraces: true });
const subject = rpcSubject('capacity', BENCH_ECHO);
const request = (input: unknown) => JSON.stringify({ tenantId: 't_bench', actor: { kind: 'apiKey', keyId: 'key_bench' }, input });
const echo = async (input: unknown) => {
  const reply = await nc.request(subject, request(input), { timeout: 5000 });
  return reply.json<{ ok: boolean; data?: unknown }>();
};
const fixed = { service: 'bench', instance: 'x' };
const app = new Hono()
  .get('/', async (c) => {
    const body = await echo(fixed);
    return body.ok ? c.json(body.data) : c.json(body, 500);
  })
  .post('/', async (c) => {
    const body = await echo(await c.req.json());
    return body.ok ? c.json(body.data) : c.json(body, 500);
  });
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
  serveParent({ port: info.port }, { stats: () => ({ memory: process.memoryUsage(), cpu: process.cpuUsage() }) }, async () => {
    await new Promise((r) => server.close(r));
    await nc.close();
  }),
);
