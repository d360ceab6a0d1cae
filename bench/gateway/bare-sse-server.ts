/**
 * The context figure of `sse-vs-centrifugo.ts`: SSE with bare Hono on @hono/node-server, as the
 * gateway serves it but with nothing of the gateway's own. `GET /stream` sends the head and
 * `retry:` and keeps the response; each message published to `SUBJECT` on NATS (core, not
 * JetStream) is answered at once, then written to every open response in one loop. No
 * middleware (request context, auth, rate limit, CORS), no channels, no resumption, no
 * backpressure: what opening and writing to streams cost Node and the kernel on this machine,
 * the floor under the gateway's figures. Env: NATS_URL, SUBJECT.
 */
import type { ServerResponse } from 'node:http';
import { serve } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { connect } from '@nats-io/transport-node';
import { Hono } from 'hono';
import { serveParent } from './ipc';

const nc = await connect({ servers: process.env.NATS_URL, noAsyncTraces: true });
const open = new Set<ServerResponse>();

const app = new Hono<{ Bindings: { outgoing: ServerResponse } }>().get('/stream', (c) => {
  const res = c.env.outgoing;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write('retry: 3000\n\n');
  open.add(res);
  res.once('close', () => open.delete(res));
  return RESPONSE_ALREADY_SENT;
});

nc.subscribe(process.env.SUBJECT as string, {
  callback: (error, msg) => {
    if (error) throw error; // the subscription failed: the run cannot go on
    msg.respond();
    const frame = Buffer.from(`event: availability.updated\ndata: ${msg.string()}\n\n`);
    for (const res of open) res.write(frame);
  },
});

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
  serveParent({ port: info.port }, { stats: () => ({ streams: open.size }) }, async () => {
    for (const res of open) res.destroy();
    await new Promise((r) => server.close(r));
    await nc.close();
  }),
);
