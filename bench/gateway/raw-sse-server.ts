/**
 * The floor of `sse-vs-centrifugo.ts`: the least a Node process can do to hold SSE streams and
 * write a message to each, on this machine — what its kernel and one thread allow, with nothing
 * of HTTP but the bytes. A `node:net` server answers a connection's first bytes (any) with a
 * fixed head and `retry:`, and writes each message published to `SUBJECT` on NATS (core) to
 * every connection: one `write` system call on its descriptor, with the kit's `writeToSocket` as
 * the gateway's fan-out (`socket.write` only for what the kernel did not take). No parsing, no body framing (the body
 * runs to the connection's end), no auth, no channels, no resumption, no backpressure. Env:
 * NATS_URL, SUBJECT.
 */
import net from 'node:net';
// The module alone, not the kit's index: the floor loads nothing it does not use.
import { descriptorOf, handleOf, writeToSocket } from '@allot/kit/socket-writes';
import { connect } from '@nats-io/transport-node';
import { serveParent } from './ipc';

const HEAD = Buffer.from(
  'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\nretry: 3000\n\n',
  'latin1',
);

/** Every open connection, with its handle and descriptor as it opened (see `writeToSocket`). */
const open = new Map<net.Socket, { handle: unknown; fd: number }>();

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.once('data', () => {
    socket.write(HEAD);
    open.set(socket, { handle: handleOf(socket), fd: descriptorOf(socket) });
  });
  socket.on('error', () => socket.destroy());
  socket.once('close', () => open.delete(socket));
});

const nc = await connect({ servers: process.env.NATS_URL, noAsyncTraces: true });
nc.subscribe(process.env.SUBJECT as string, {
  callback: (error, msg) => {
    if (error) throw error; // the subscription failed: the run cannot go on
    msg.respond();
    const frame = Buffer.from(`event: availability.updated\ndata: ${msg.string()}\n\n`);
    for (const [socket, { handle, fd }] of open) {
      try {
        writeToSocket(socket, handle, fd, frame);
      } catch {
        socket.destroy();
      }
    }
  },
});

server.listen(0, '127.0.0.1', () =>
  serveParent({ port: (server.address() as net.AddressInfo).port }, { stats: () => ({ streams: open.size }) }, async () => {
    for (const socket of open.keys()) socket.destroy();
    await new Promise((r) => server.close(r));
    await nc.close();
  }),
);
