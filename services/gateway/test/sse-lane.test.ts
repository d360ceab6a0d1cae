import net, { type AddressInfo, type Socket } from 'node:net';
import { EventPublisher, makeEvent, systemClock } from '@allot/kit';
import { testNats } from '@allot/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamLane } from '../src/routes/stream-lane';
import { createTenant, eventually, openStream, startTestGateway, type TestGateway, userToken } from './harness';

/** What the lane did with a request: took it, or declined it (answered 599 here, where Node's server would take over). */
const DECLINED = 599;

/**
 * A server in front of a test gateway's lane alone, so each request shows whether the lane took
 * it. (The gateway's own server runs the same lane before Node's HTTP server.)
 */
async function laneServer(gw: TestGateway) {
  const lane = streamLane(gw.gateway.deps, (socket) => {
    socket.end(`HTTP/1.1 ${DECLINED} Declined\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
  });
  const sockets = new Set<Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    lane.accept(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      lane.close();
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

const sortedNames = (headers: Headers) => [...headers.keys()].filter((name) => name !== 'date').sort();

describe('gateway SSE lane', () => {
  let gw: TestGateway;
  let lane: Awaited<ReturnType<typeof laneServer>>;
  let conn: Awaited<ReturnType<typeof testNats>>;
  beforeAll(async () => {
    gw = await startTestGateway({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '4', SSE_MAX_STREAMS_PER_CREDENTIAL: '1' });
    lane = await laneServer(gw);
    conn = await testNats();
  });
  afterAll(async () => {
    lane.close();
    await conn.close();
    await gw.stop();
  });

  it('sse lane - takes a stream of a key verified lately, with the head and events the app gives; declines the rest untouched', async () => {
    const { key, tenantId } = await createTenant(gw);
    const auth = { authorization: `Bearer ${key}`, origin: 'https://app.example' };
    const path = '/v1/stream?channels=availability';
    // Not verified on this replica yet: declined, nothing taken from the key's allowance.
    expect((await fetch(`${lane.base}${path}`, { headers: auth })).status).toBe(DECLINED);

    const token = await userToken(gw, key, 'u1'); // the key verifies through the app (1 of its 4 requests)
    const byApp = openStream(`${gw.base}/v1/stream?channels=user`, { authorization: `Bearer ${token}`, origin: 'https://app.example' });
    const byLane = openStream(`${lane.base}${path}`, auth); // 2 of 4
    const [appHead, laneHead] = [await byApp.response, await byLane.response];
    expect(laneHead.status).toBe(200);
    expect(sortedNames(laneHead.headers)).toEqual(sortedNames(appHead.headers));
    expect(laneHead.headers.get('content-type')).toBe('text/event-stream');
    expect(laneHead.headers.get('access-control-allow-origin')).toBe('*');
    expect(laneHead.headers.get('ratelimit')).toMatch(/^"per-credential";r=2;t=\d$/);
    expect(laneHead.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    await new EventPublisher(conn.js, 'availability').publish(
      makeEvent(
        'availability',
        tenantId,
        'availability.updated',
        { sessionId: 'ses_l', date: '2030-01-02', maxSlots: 5, bookedSlots: 1, availableSlots: 4, isAvailable: true, version: 1 },
        systemClock,
      ),
    );
    await eventually(() => byLane.events.length === 1 && byLane.retry === 3000);
    expect(JSON.parse(byLane.events[0]!.data)).toMatchObject({ sessionId: 'ses_l', availableSlots: 4 });

    const declined = [
      fetch(`${lane.base}/v1/stream?channels=user`, { headers: { authorization: `Bearer ${token}` } }), // a user token
      fetch(`${lane.base}/v1/stream?channels=gossip`, { headers: auth }), // refused by the app: 400
      fetch(`${lane.base}/v1/stream?channels=availability`, { headers: { ...auth, 'last-event-id': 'nope' } }),
      fetch(`${lane.base}/v1/stream?channels=availability`, { headers: { authorization: 'Token abc' } }),
      fetch(`${lane.base}/v1/stream?channels=availability`, { method: 'POST', headers: auth, body: 'x' }),
      fetch(`${lane.base}/v1/stream/?channels=availability`, { headers: auth }),
      fetch(`${lane.base}/v1/me`, { headers: auth }),
    ];
    for (const res of await Promise.all(declined)) expect(res.status).toBe(DECLINED);
    byApp.close();
    byLane.close();
  });

  it('sse lane - a connection silent for longer than the lane waits for its first bytes is left to Node', async () => {
    const { key } = await createTenant(gw);
    await gw.call('GET', '/v1/me', { key });
    const request = `GET /v1/stream?channels=availability HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${key}\r\n\r\n`;
    expect(statuses(await exchange(Number(new URL(lane.base).port), ['', request], 2200))).toEqual([DECLINED]);
  });

  it('sse lane - a request it takes is refused as the app refuses it: the stream cap, then the rate limit (429)', async () => {
    const { key } = await createTenant(gw);
    await gw.call('GET', '/v1/me', { key }); // verified: 1 of its 4 requests
    const auth = { authorization: `Bearer ${key}` };
    const open = openStream(`${lane.base}/v1/stream?channels=availability`, auth); // 2
    expect((await open.response).status).toBe(200);

    const capped = await fetch(`${lane.base}/v1/stream?channels=availability`, { headers: auth }); // 3: one stream per key
    expect(capped.status).toBe(429);
    expect(capped.headers.get('content-type')).toBe('application/problem+json');
    expect(await capped.json()).toMatchObject({ code: 'rate_limited', detail: expect.stringContaining('per credential') });

    await fetch(`${lane.base}/v1/stream?channels=availability`, { headers: auth }); // 4
    const limited = await fetch(`${lane.base}/v1/stream?channels=availability`, { headers: auth }); // 5 of 4
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited.headers.get('x-request-id')).toBeTruthy();
    expect(await limited.json()).toMatchObject({ code: 'rate_limited', detail: expect.stringContaining('Rate limit') });
    open.close();
  });
});

/** Sends `parts` on a new connection to `port`, `gapMs` apart, and gives back all it gets until the server closes it. */
async function exchange(port: number, parts: (string | Buffer)[], gapMs = 50): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => {
    text += d;
  });
  const closed = new Promise<void>((resolve, reject) => {
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (const [i, part] of parts.entries()) {
    if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
    socket.write(part);
  }
  await closed;
  return text;
}

const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

describe("gateway SSE lane, before Node's HTTP server", () => {
  let gw: TestGateway;
  let port: number;
  let key: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    port = Number(new URL(gw.base).port);
    ({ key } = await createTenant(gw));
    await gw.call('GET', '/v1/me', { key }); // verified: its streams open in the lane
  });
  afterAll(() => gw.stop());

  const get = (path: string, last = false) =>
    `GET ${path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${key}\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;

  it('sse lane - Node gets what the lane leaves as it came: a head in two packets, pipelined requests, a body, a client slow to speak', async () => {
    const me = get('/v1/me', true);
    expect(statuses(await exchange(port, [me.slice(0, 30), me.slice(30)]))).toEqual([200]);
    expect(statuses(await exchange(port, [get('/v1/me') + me]))).toEqual([200, 200]);
    // Keep-alive: a second request on the connection the lane left to Node.
    expect(statuses(await exchange(port, [get('/v1/me'), me]))).toEqual([200, 200]);
    const body = JSON.stringify({ name: 'By hand' });
    const post = `POST /v1/tenants HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${gw.rootKey}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    expect(statuses(await exchange(port, [post]))).toEqual([201]);
    // Silent for longer than the lane waits for first bytes: Node's server has it by then.
    const slow = await exchange(port, ['', get('/v1/stream?channels=gossip', true)], 2200);
    expect(statuses(slow)).toEqual([400]);
    expect(slow).toContain('channels');
  });

  it('sse lane - a stream it takes ends as a chunked body when the gateway stops; a silent connection is closed', async () => {
    const own = await startTestGateway();
    const ownPort = Number(new URL(own.base).port);
    const { key: ownKey } = await createTenant(own);
    await own.call('GET', '/v1/me', { key: ownKey });
    const stream = exchange(ownPort, [
      `GET /v1/stream?channels=availability HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${ownKey}\r\n\r\n`,
    ]);
    const silent = exchange(ownPort, []);
    await new Promise((r) => setTimeout(r, 200)); // both connections accepted, the stream's head sent
    await own.stop();
    const text = await stream;
    expect(statuses(text)).toEqual([200]);
    expect(text).toMatch(/\r\ntransfer-encoding: chunked\r\n/);
    expect(text).toContain('retry: 3000');
    expect(text.endsWith('\r\n0\r\n\r\n')).toBe(true);
    expect(await silent).toBe('');
  });
});
