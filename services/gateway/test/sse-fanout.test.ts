import { ensureStream, newId } from '@allot/kit';
import { testNats } from '@allot/kit/testing';
import { startNats } from '@allot/local-servers';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { clientStreamConfig } from '../src/sse/client-messages';
import type { Listener } from '../src/sse/fanout';
import { createTenant, eventually, nanosOf, openStream, startTestGateway, type TestGateway } from './harness';

/**
 * A fake connection that records the ids and `k`s of the frames it gets (and can be made slow),
 * `turnOf()` at each frame (which turn of the event loop wrote it), and how many writes brought
 * them (one write may bring several frames).
 */
function recorder(tenantId: string, busyMicros = 0, turnOf: () => number = () => 0, channel = 'availability') {
  const ids: string[] = [];
  const turns: number[] = [];
  const ks: number[] = [];
  const frames: string[] = [];
  let writes = 0;
  let closed = 0;
  const listener: Listener = {
    tenantId,
    matches: (tokens) => channel === '*' || tokens[0] === channel,
    resume: () => void closed++,
    send(bytes) {
      writes++;
      const turn = turnOf();
      for (const text of Buffer.from(bytes)
        .toString('utf8')
        .split(/(?<=\n\n)/)) {
        frames.push(text);
        turns.push(turn);
        ids.push(/^id: (\d+)\n/.exec(text)?.[1] as string);
        ks.push(JSON.parse(/\ndata: (.*)\n\n$/.exec(text)?.[1] as string).k);
      }
      if (busyMicros > 0) {
        const until = performance.now() + busyMicros / 1000;
        while (performance.now() < until) {}
      }
    },
    close: () => void closed++,
  };
  return {
    listener,
    ids,
    ks,
    frames,
    turns,
    get writes() {
      return writes;
    },
    get closed() {
      return closed;
    },
  };
}

describe('gateway SSE fan-out', () => {
  let gw: TestGateway;
  let conn: Awaited<ReturnType<typeof testNats>>;

  beforeAll(async () => {
    gw = await startTestGateway();
    conn = await testNats();
  });
  afterAll(async () => {
    await conn.close();
    await gw.stop();
  });

  /** Publishes a client message; returns its SSE id (the time it was stored, in ns). */
  const publish = async (tenantId: string, k: number, channel = 'availability') => {
    const { seq } = await conn.js.publish(
      `client.${tenantId}.${channel}.ses_1.2030-01-01`,
      JSON.stringify({ event: 'availability.updated', data: { k, text: 'line\nbreak' } }),
    );
    return nanosOf((await conn.jsm.direct.getMessage('CLIENT', { seq }))?.timestamp ?? '');
  };

  it('sse - a burst to many slow connections arrives whole, in order, once, without holding the event loop', async () => {
    const fanout = gw.gateway.deps.fanout;
    const baseline = fanout.size;
    const tenantId = newId('t');
    // Counts turns of the event loop, so the test sees whether a message was written in one block.
    let turn = 0;
    let spinning = true;
    const spin = () => {
      turn++;
      if (spinning) setImmediate(spin);
    };
    spin();
    // 1,000 connections at 0.2 ms each: one message costs 200 ms of writing in all.
    const live = Array.from({ length: 1000 }, () => recorder(tenantId, 200, () => turn));
    const removers = live.map((r) => fanout.listen(r.listener));
    expect(fanout.size).toBe(baseline + 1000);
    const seqs: string[] = [];
    for (let k = 0; k < 8; k++) seqs.push(await publish(tenantId, k));
    // A client reconnecting mid-burst from the first id: the rest replayed, then live, no gaps.
    const resumed = recorder(tenantId);
    const removeResumed = fanout.listen(resumed.listener, seqs[0]);
    for (let k = 8; k < 10; k++) seqs.push(await publish(tenantId, k));

    await eventually(() => live.every((r) => r.ids.length === 10) && resumed.ids.length === 9, 20_000);
    spinning = false;
    await new Promise((r) => setTimeout(r, 200));

    for (const r of live) expect(r.ids).toEqual(seqs);
    expect(resumed.ids).toEqual(seqs.slice(1));
    // Every connection got the very same bytes, serialised once per message.
    const first = live[0]!.frames[0]!;
    expect(first).toBe(`id: ${seqs[0]}\nevent: availability.updated\ndata: {"k":0,"text":"line\\nbreak"}\n\n`);
    expect(live.every((r) => r.frames[0] === first)).toBe(true);
    // 2 s of writing went out in slices, other work running in between: no message was written
    // to all 1,000 connections in one turn of the event loop (however fast or busy the machine).
    for (let k = 0; k < seqs.length; k++) {
      const perTurn = new Map<number, number>();
      for (const r of live) perTurn.set(r.turns[k] as number, (perTurn.get(r.turns[k] as number) ?? 0) + 1);
      expect(Math.max(...perTurn.values())).toBeLessThan(1000);
    }

    for (const remove of [...removers, removeResumed]) remove();
    expect(fanout.size).toBe(baseline);
  }, 30_000);

  it('sse - messages that queue up behind a slow fan-out go out together: one write per connection, each its own messages, in order', async () => {
    const fanout = gw.gateway.deps.fanout;
    const tenantId = newId('t');
    // 500 connections at 0.2 ms each: a delivery takes 100 ms, while the messages come faster.
    const slow = Array.from({ length: 500 }, () => recorder(tenantId, 200));
    const all = recorder(tenantId, 0, () => 0, '*');
    const bookings = recorder(tenantId, 0, () => 0, 'bookings');
    const removers = [...slow, all, bookings].map((r) => fanout.listen(r.listener));
    const seqs: string[] = [];
    const channels = ['availability', 'availability', 'bookings', 'availability', 'bookings', 'availability'];
    for (const [k, channel] of channels.entries()) seqs.push(await publish(tenantId, k, channel));
    const availability = seqs.filter((_, k) => channels[k] === 'availability');
    await eventually(() => all.ids.length === seqs.length && slow.every((r) => r.ids.length === availability.length), 20_000);
    await new Promise((r) => setTimeout(r, 200));

    for (const r of slow) expect(r.ids).toEqual(availability);
    expect(all.ids).toEqual(seqs);
    expect(bookings.ids).toEqual(seqs.filter((_, k) => channels[k] === 'bookings'));
    // Fewer writes than messages: what queued behind the first delivery went out in one write.
    expect(slow[0]!.writes).toBeLessThan(availability.length);
    expect(all.writes).toBeLessThan(seqs.length);
    for (const remove of removers) remove();
  }, 30_000);

  it('sse - a message that comes mid-delivery rides along to the connections not reached yet, and reaches the others next, once each', async () => {
    const fanout = gw.gateway.deps.fanout;
    const tenantId = newId('t');
    // 1,000 connections at 0.5 ms each: a delivery takes half a second.
    const slow = Array.from({ length: 1000 }, () => recorder(tenantId, 500));
    const removers = slow.map((r) => fanout.listen(r.listener));
    const first = await publish(tenantId, 0);
    // The first delivery has reached the 100th connection and has 900 to go.
    await eventually(() => slow[99]!.ids.length === 1, 20_000);
    const second = await publish(tenantId, 1);
    await eventually(() => slow.every((r) => r.ids.length === 2), 20_000);
    await new Promise((r) => setTimeout(r, 200));

    for (const r of slow) expect(r.ids).toEqual([first, second]);
    // The first connections had the first message already: the second came in a write of its own.
    expect(slow[0]!.writes).toBe(2);
    // The last ones were still to be reached: both messages in one write, in the same delivery.
    expect(slow.at(-1)!.writes).toBe(1);
    for (const remove of removers) remove();
  }, 30_000);

  it("sse - a replay goes at the connection's pace: it waits while the connection is backed up", async () => {
    const fanout = gw.gateway.deps.fanout;
    const tenantId = newId('t');
    const seqs: string[] = [];
    for (let k = 0; k < 30; k++) seqs.push(await publish(tenantId, k));
    const slow = recorder(tenantId);
    let release: (() => void) | undefined;
    slow.listener.ready = () => {
      if (slow.ids.length % 10 !== 0) return undefined;
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    };
    const remove = fanout.listen(slow.listener, (BigInt(seqs[0] as string) - 1n).toString());
    await eventually(() => slow.ids.length === 10);
    await new Promise((r) => setTimeout(r, 300));
    expect(slow.ids.length).toBe(10); // held back, not buffered
    const live = await publish(tenantId, 30); // arrives meanwhile: held, then sent once, in order
    release?.();
    await eventually(() => slow.ids.length === 20);
    release?.();
    await eventually(() => slow.ids.length === 31);
    await new Promise((r) => setTimeout(r, 200));
    expect(slow.ids).toEqual([...seqs, live]);
    remove();
  });

  it('sse - a connection whose write throws is closed and the others carry on', async () => {
    const fanout = gw.gateway.deps.fanout;
    const tenantId = newId('t');
    const good = recorder(tenantId);
    const bad = recorder(tenantId);
    bad.listener.send = () => {
      throw new Error('socket gone');
    };
    const removers = [fanout.listen(bad.listener), fanout.listen(good.listener)];
    const seq = await publish(tenantId, 1);
    await eventually(() => good.ids.length === 1);
    expect(good.ids).toEqual([seq]);
    expect(bad.closed).toBe(1);
    for (const remove of removers) remove();
  });

  it('sse - the stream answers with the event-stream, request id, trace and CORS headers', async () => {
    const { key } = await createTenant(gw);
    const stream = openStream(`${gw.base}/v1/stream?channels=availability`, {
      authorization: `Bearer ${key}`,
      'x-request-id': 'sse-req-1',
      origin: 'https://app.example',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    const res = await stream.response;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-request-id')).toBe('sse-req-1');
    expect(res.headers.get('traceparent')).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
    expect(res.headers.get('ratelimit')).toMatch(/^"per-credential";r=\d+;t=\d+$/);
    await eventually(() => stream.retry === 3000);
    stream.close();
  });

  it('sse - without a Node response (app.request) the stream is a Web stream, released when cancelled', async () => {
    const { key, tenantId } = await createTenant(gw);
    const fanout = gw.gateway.deps.fanout;
    const baseline = fanout.size;
    const res = await gw.gateway.app.request('/v1/stream?channels=availability', { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const seq = await publish(tenantId, 7);
    while (!text.includes(`id: ${seq}\n`)) text += decoder.decode((await reader.read()).value);
    expect(text.startsWith('retry: 3000\n\n')).toBe(true);
    expect(text).toContain('event: availability.updated\ndata: {"k":7,');
    expect(fanout.size).toBe(baseline + 1);
    await reader.cancel();
    expect(fanout.size).toBe(baseline);
  });
});

describe('gateway SSE shutdown', () => {
  it('sse - closing the gateway ends open streams normally and releases them', async () => {
    const gw = await startTestGateway();
    const { key } = await createTenant(gw);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${gw.base}/v1/stream?channels=availability`, { headers: { authorization: `Bearer ${key}` } }),
      ),
    );
    await eventually(() => gw.gateway.deps.fanout.size === 20);
    const bodies = Promise.all(responses.map((r) => r.text()));
    const warn = vi.spyOn(gw.gateway.deps.log, 'warn');
    await gw.stop();
    // The server closed because every stream ended, not because shutdown stopped waiting.
    expect(warn.mock.calls.map(([, message]) => message)).not.toContain('connections still open at shutdown; stopping without them');
    for (const body of await bodies) expect(body.startsWith('retry: 3000\n\n')).toBe(true);
    expect(gw.gateway.deps.fanout.size).toBe(0);
  });
});

describe('gateway SSE fan-out restart', () => {
  /**
   * A gateway on a NATS server of its own (these tests break the CLIENT stream's consumers, which
   * others share) with one open stream that has received its first message; `publish` sends the next.
   */
  async function withLiveStream(
    test: (t: {
      gw: TestGateway;
      jsm: JetStreamManager;
      stream: ReturnType<typeof openStream>;
      publish: (k: number) => Promise<unknown>;
    }) => Promise<void>,
  ) {
    const nats = await startNats();
    const gw = await startTestGateway({ NATS_URL: nats.url });
    const conn = await connect({ servers: nats.url });
    const js = jetstream(conn);
    const jsm = await jetstreamManager(conn);
    try {
      const { key, tenantId } = await createTenant(gw);
      const stream = openStream(`${gw.base}/v1/stream?channels=availability`, { authorization: `Bearer ${key}` });
      await stream.response;
      const publish = (k: number) =>
        js.publish(`client.${tenantId}.availability.ses_1.2030-01-01`, JSON.stringify({ event: 'availability.updated', data: { k } }));
      await publish(1);
      await eventually(() => stream.events.length === 1);
      await test({ gw, jsm, stream, publish });
      stream.close();
    } finally {
      await conn.close();
      await gw.stop();
      await nats.stop();
    }
  }

  it('sse - the fan-out makes its consumer again when it ends (the stream deleted and made again), and streams carry on', () =>
    withLiveStream(async ({ gw, jsm, stream, publish }) => {
      await jsm.streams.delete('CLIENT');
      await ensureStream(jsm, clientStreamConfig(60));
      await publish(2);
      await publish(3);
      await eventually(() => stream.events.length === 3, 5000);
      expect(stream.events.map((e) => JSON.parse(e.data).k)).toEqual([1, 2, 3]);
      expect(gw.gateway.deps.fanout.restartCount).toBeGreaterThanOrEqual(1);
    }));

  it(
    'sse - a live consumer that stays alive but delivers nothing while the stream grows is made again, and streams carry on',
    () =>
      withLiveStream(async ({ gw, jsm, stream, publish }) => {
        // Silent but not gone, as the consumer of a gateway whose NATS node was killed was seen to
        // be: paused for a minute, it answers heartbeats and hands out nothing.
        const consumers = [];
        for await (const c of jsm.consumers.list('CLIENT')) consumers.push(c.name);
        for (const name of consumers) await jsm.consumers.pause('CLIENT', name, new Date(Date.now() + 60_000));
        const restarts = gw.gateway.deps.fanout.restartCount;
        await publish(2);
        await eventually(() => stream.events.length === 2, 30_000);
        expect(stream.events.map((e) => JSON.parse(e.data).k)).toEqual([1, 2]);
        expect(gw.gateway.deps.fanout.restartCount).toBeGreaterThan(restarts);
      }),
    60_000,
  );
});
