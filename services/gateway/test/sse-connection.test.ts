import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultSseLimits, nodeSink, type SseLimits, type SseSink, socketSink } from '../src/sse/connection';
import { eventually } from './harness';

type Output = http.ServerResponse | net.Socket;

/**
 * A server whose one stream is an SSE sink with the given limits, on a Node response or (as the
 * SSE lane writes it) on the connection itself; records when it is gone.
 */
async function serve(limits: SseLimits, on: 'response' | 'connection' = 'response') {
  const state: { sink?: SseSink; gone: boolean; out?: Output } = { gone: false };
  const gone = () => (state.gone = true);
  const server =
    on === 'response'
      ? http.createServer((_req, res) => {
          state.out = res;
          state.sink = nodeSink(res, { 'content-type': 'text/event-stream' }, gone, limits);
        })
      : net.createServer({ allowHalfOpen: true }, (socket) => {
          socket.once('data', () => {
            state.out = socket;
            state.sink = socketSink(
              socket,
              'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n',
              gone,
              limits,
            );
          });
        });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { server, port, state };
}

const socketOf = (out: Output | undefined) => (out instanceof http.ServerResponse ? out.socket : out);

/** A client that sends a request and then never reads its socket. */
async function stuckClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  socket.pause();
  return socket;
}

const chunk = Buffer.alloc(64 * 1024, 'a');
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe.each(['response', 'connection'] as const)('SSE connection, written on a %s', (on) => {
  it('sse - a client that stops reading is cut off once too much waits for it, and is released', async () => {
    const { server, port, state } = await serve({ maxBufferedBytes: 1024 * 1024, maxStallMs: 60_000 }, on);
    const socket = await stuckClient(port);
    cleanups.push(
      () => socket.destroy(),
      () => server.close(),
    );
    await eventually(() => state.sink);
    let written = 0;
    const pump = setInterval(() => {
      for (let i = 0; i < 8 && !state.gone; i++) {
        state.sink?.write(chunk);
        written += chunk.length;
      }
    }, 2);
    cleanups.push(() => clearInterval(pump));
    await eventually(() => state.gone, 10_000);
    expect(state.out?.destroyed).toBe(true);
    // Bounded: the kernel's socket buffers plus at most the limit (and one turn of writes).
    expect(state.out?.writableLength ?? 0).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(written).toBeLessThan(256 * 1024 * 1024);
  });

  it('sse - writes backed up for longer than the stall limit cut the client off', async () => {
    const { server, port, state } = await serve({ maxBufferedBytes: Number.POSITIVE_INFINITY, maxStallMs: 300 }, on);
    const socket = await stuckClient(port);
    cleanups.push(
      () => socket.destroy(),
      () => server.close(),
    );
    await eventually(() => state.sink);
    // Fill the socket until Node reports backpressure, then stop writing.
    while ((state.out?.writableLength ?? 0) < 256 * 1024) {
      state.sink?.write(chunk);
      await new Promise((r) => setImmediate(r));
    }
    const waiting = state.sink?.ready();
    expect(waiting).toBeInstanceOf(Promise); // a replay would wait here
    const started = Date.now();
    await eventually(() => state.gone, 5000);
    await waiting; // settles once the connection is gone
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(state.out?.destroyed).toBe(true);
  });

  it('sse - a client that keeps reading is never cut off; end() finishes the response', async () => {
    const { server, port, state } = await serve({ maxBufferedBytes: 512 * 1024, maxStallMs: 1000 }, on);
    cleanups.push(() => server.close());
    let received = 0;
    const done = new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          res.on('data', (d: Buffer) => {
            received += d.length;
          });
          res.on('end', () => resolve());
        })
        .on('error', reject);
    });
    await eventually(() => state.sink);
    for (let i = 0; i < 200; i++) {
      state.sink?.write(chunk); // 12.5 MiB at 64 KiB per turn of the event loop
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(state.gone).toBe(false);
    await (state.sink?.ready() ?? Promise.resolve()); // drains for a reading client
    state.sink?.end();
    expect(state.gone).toBe(true);
    await done;
    expect(received).toBe(200 * chunk.length);
  });

  it('sse - a client whose buffers fill up still gets every frame once, in order', async () => {
    const { server, port, state } = await serve({ maxBufferedBytes: 64 * 1024 * 1024, maxStallMs: 10_000 }, on);
    cleanups.push(() => server.close());
    const socket = await stuckClient(port); // not reading yet: the kernel's buffers fill, then the socket's queue
    cleanups.push(() => socket.destroy());
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
    });
    socket.pause();
    await eventually(() => state.sink);
    const frames = 3000;
    const frame = (n: number) => Buffer.from(`data: ${n} ${'x'.repeat(4000)}\n\n`);
    let queued = 0;
    for (let n = 0; n < frames; n++) {
      state.sink?.write(frame(n));
      queued = Math.max(queued, state.out?.writableLength ?? 0);
      // Reads from halfway on, while frames keep coming: the queue drains as the kernel takes more.
      if (n === frames / 2) socket.resume();
      if (n % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(queued).toBeGreaterThan(0); // some frames did wait in the queue
    await eventually(() => text.includes(`data: ${frames - 1} `), 10_000);
    const numbers = [...text.matchAll(/data: (\d+) x+\n\n/g)].map((m) => Number(m[1]));
    expect(numbers).toEqual(Array.from({ length: frames }, (_, n) => n));
    expect(state.gone).toBe(false);
  });

  it('sse - a stream whose connection closed never writes to the descriptor it had', async () => {
    const { server, port, state } = await serve(defaultSseLimits, on);
    cleanups.push(() => server.close());
    const client = await stuckClient(port);
    cleanups.push(() => client.destroy());
    await eventually(() => state.sink);
    state.sink?.write(Buffer.from('retry: 3000\n\n')); // the head: later frames go to the descriptor
    const socket = socketOf(state.out);
    if (!socket) throw new Error('the response has no socket');
    const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
    socket.destroy();
    // The lowest free descriptor is reused at once: a file now has the number the connection had.
    const file = path.join(os.tmpdir(), `sse-closed-${process.pid}`);
    const reused = openSync(file, 'w+');
    cleanups.push(() => {
      closeSync(reused);
      rmSync(file, { force: true });
    });
    expect(reused).toBe(fd);
    state.sink?.write(Buffer.from('data: late\n\n'));
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('sse - a client that goes away is released', async () => {
    const { server, port, state } = await serve({ maxBufferedBytes: 512 * 1024, maxStallMs: 1000 }, on);
    cleanups.push(() => server.close());
    const socket = await stuckClient(port);
    await eventually(() => state.sink);
    state.sink?.write(Buffer.from('retry: 3000\n\n'));
    socket.destroy();
    await eventually(() => state.gone);
    state.sink?.write(chunk); // ignored, no throw
  });

  it('sse - a client that ends its side of the connection is released', async () => {
    const { server, port, state } = await serve({ maxBufferedBytes: 512 * 1024, maxStallMs: 1000 }, on);
    cleanups.push(() => server.close());
    const socket = await stuckClient(port);
    cleanups.push(() => socket.destroy());
    await eventually(() => state.sink);
    state.sink?.write(Buffer.from('retry: 3000\n\n'));
    socket.end();
    await eventually(() => state.gone);
    expect(state.out?.destroyed || state.out?.writableEnded).toBe(true);
  });
});

describe('SSE connection, written on a Node response', () => {
  it('sse - an open stream sends the head it was given and keeps none of its fields afterwards', async () => {
    let kept: string[] | undefined;
    const server = http.createServer((_req, res) => {
      res.setHeader('x-request-id', 'req-1'); // as the middleware sets it, before the route
      const sink = nodeSink(res, { 'content-type': 'text/event-stream' }, () => {}, defaultSseLimits);
      // Node would keep the fields it was given for as long as the response is open.
      kept = res.getHeaderNames();
      sink.write(Buffer.from('data: 1\n\n'));
      sink.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => server.close());
    const { port } = server.address() as net.AddressInfo;
    const { headers, body } = await new Promise<{ headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            body += d;
          });
          res.on('end', () => resolve({ headers: res.headers, body }));
        })
        .on('error', reject);
    });
    expect(headers['x-request-id']).toBe('req-1');
    expect(headers['content-type']).toBe('text/event-stream');
    expect(body).toBe('data: 1\n\n');
    expect(kept).toEqual([]);
  });
});
