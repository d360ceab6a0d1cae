import http from 'node:http';
import { testNats } from '@allot/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, eventually, openStream, startTestGateway, type TestGateway } from './harness';

/** Memory of this process (the gateway runs in it) after full collections, in MiB. */
function memory() {
  const gc = global.gc as () => void;
  gc();
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss: rss / 2 ** 20, heap: heapUsed / 2 ** 20 };
}

describe('gateway SSE limits', () => {
  let gw: TestGateway;
  let conn: Awaited<ReturnType<typeof testNats>>;
  beforeAll(async () => {
    gw = await startTestGateway({ SSE_MAX_STREAMS_PER_CREDENTIAL: '2', SSE_MAX_STREAMS_PER_TENANT: '3', SSE_REPLAY_BUFFER_MESSAGES: '50' });
    conn = await testNats();
  });
  afterAll(async () => {
    await conn.close();
    await gw.stop();
  });

  it('sse limits - streams per credential and per tenant are capped with 429; a closed stream frees its place', async () => {
    const { key } = await createTenant(gw);
    const other = await gw.call('POST', '/v1/api-keys', { key, body: { name: 'second' } });
    const url = `${gw.base}/v1/stream?channels=availability`;
    const open = (k: string) => openStream(url, { authorization: `Bearer ${k}` });
    const first = [open(key), open(key)];
    for (const s of first) expect((await s.response).status).toBe(200);
    const third = await gw.call('GET', '/v1/stream?channels=availability', { key });
    expect(third.status).toBe(429);
    expect(third.headers.get('content-type')).toContain('application/problem+json');
    expect(third.body).toMatchObject({ code: 'rate_limited', detail: expect.stringContaining('per credential') });

    const byOther = open(other.body.key);
    expect((await byOther.response).status).toBe(200);
    const fourth = await gw.call('GET', '/v1/stream?channels=availability', { key: other.body.key });
    expect(fourth.status).toBe(429);
    expect(fourth.body.detail).toContain('per tenant');

    first[0]?.close();
    await eventually(async () => (await openStream(url, { authorization: `Bearer ${key}` }).response).status === 200);
    first[1]?.close();
    byOther.close();
  });

  it('sse limits - a slow replaying client holds a bounded number of live messages, is told to resume, and loses nothing', async () => {
    const { key, tenantId } = await createTenant(gw);
    const subject = `client.${tenantId}.availability.ses_1.2030-01-01`;
    const padding = 'x'.repeat(8 * 1024);
    const publish = async (from: number, to: number) => {
      for (let k = from; k < to; k += 100) {
        const batch = Array.from({ length: Math.min(100, to - k) }, (_, i) =>
          conn.js.publish(subject, JSON.stringify({ event: 'availability.updated', data: { k: k + i, padding } })),
        );
        await Promise.all(batch);
      }
    };
    // 20 MiB the client missed: more than the sockets between it and the gateway hold.
    await publish(0, 2500);
    // Once a marker published after them reaches a stream of another channel, the fan-out has
    // read them all (in stream order): none of them can reach the client below as a live message
    // held back during its replay.
    const watcher = openStream(`${gw.base}/v1/stream?channels=bookings`, { authorization: `Bearer ${key}` });
    await watcher.response;
    await conn.js.publish(`client.${tenantId}.bookings.marker`, JSON.stringify({ event: 'booking.created', data: { marker: true } }));
    await eventually(() => watcher.events.length > 0, 20_000);
    watcher.close();

    // A client resuming from the start that reads nothing for now.
    let text = '';
    let ended = false;
    let response: http.IncomingMessage | undefined;
    http.get(`${gw.base}/v1/stream?channels=availability`, { headers: { authorization: `Bearer ${key}`, 'last-event-id': '1' } }, (res) => {
      response = res;
      res.pause();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        ended = true;
      });
    });
    await eventually(() => response);
    await new Promise((r) => setTimeout(r, 1000)); // the replay fills the sockets and waits
    const before = memory();
    // 24 MiB of live messages while it replays: held back, they would all stay in memory.
    await publish(2500, 5500);
    await new Promise((r) => setTimeout(r, 500));
    const after = memory();
    expect(after.heap - before.heap).toBeLessThan(8);
    expect(after.rss - before.rss).toBeLessThan(16);

    response?.resume();
    await eventually(() => ended, 20_000);
    const frames = text.split('\n\n').filter((f) => f.includes('data: '));
    const last = frames.at(-1) as string;
    expect(last).toMatch(/^event: stream\.ended\ndata: \{"reason":"resume","lastEventId":"\d{19}"\}$/);
    const lastEventId = JSON.parse(last.split('data: ')[1] as string).lastEventId as string;
    const ks = frames.slice(0, -1).map((f) => JSON.parse(f.split('data: ')[1] as string).k as number);
    expect(frames.at(-2)).toContain(`id: ${lastEventId}\n`);

    // Resuming from the id it names delivers the rest, in order, without gaps or repeats.
    const resumed = openStream(`${gw.base}/v1/stream?channels=availability`, {
      authorization: `Bearer ${key}`,
      'last-event-id': lastEventId,
    });
    await eventually(() => ks.length + resumed.events.length >= 5500, 20_000);
    await new Promise((r) => setTimeout(r, 200));
    resumed.close();
    const all = [...ks, ...resumed.events.map((e) => JSON.parse(e.data).k as number)];
    expect(all).toEqual(Array.from({ length: 5500 }, (_, k) => k));
  }, 60_000);
});
