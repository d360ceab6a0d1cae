import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventPublisher, makeEvent, systemClock } from '@allot/kit';
import { testNats } from '@allot/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamLane } from '../src/routes/stream-lane';
import { createTenant, eventually, openStream, startTestGateway, type TestGateway, userToken } from './harness';

/** What the lane did with a request: took it, or declined it (answered 599 here, where the app would take over). */
const DECLINED = 599;

/**
 * A server in front of a test gateway's lane alone, so each request shows whether the lane took
 * it. (The gateway's own server runs the same lane before its app.)
 */
async function laneServer(gw: TestGateway) {
  const lane = streamLane(gw.gateway.deps);
  const server = http.createServer((req, res) => {
    if (lane(req, res)) return;
    res.writeHead(DECLINED);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.closeAllConnections() };
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
