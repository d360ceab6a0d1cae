import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';

/*
 * Writing to many sockets cheaply: the SSE gateway's fan-out and the SSE benchmark's floor write
 * one small buffer to thousands of sockets per message, where what `socket.write` costs beyond
 * the system call is most of the price.
 */

/**
 * Node's handle of a socket (not public): the same object from connect to close, then null, the
 * moment the handle closes its descriptor (which a new connection may then be given).
 */
export const handleOf = (socket: Socket): unknown => (socket as { _handle?: unknown })._handle ?? null;

/**
 * A socket's file descriptor, or -1 when it has none of its own to write to (TLS in the process,
 * another platform). Read once per connection: reading it is a call into C++, which cost 4 % of
 * the SSE gateway's CPU while delivering when read for every write.
 */
export function descriptorOf(socket: Socket): number {
  const fd = (socket as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 && !(socket as { encrypted?: boolean }).encrypted ? fd : -1;
}

/**
 * Writes to a connection's socket, `fd` being the descriptor read from `handle` (see
 * `descriptorOf`): while the socket's handle is still that one (so the descriptor is still this
 * connection's) and nothing waits in its queue, straight to the descriptor, one `write` system
 * call and nothing else. `socket.write` costs, besides that system call, a write request (a C++
 * object with its JavaScript wrapper, for the garbage collector), the stream's bookkeeping and an
 * after-write tick, for every connection of every message. In three interleaved pairs of SSE
 * benchmark runs at 15,000 streams, the gateway's CPU while delivering fell from 72–73 % of a
 * core to 65–70 % without them, and its p99 from 165–176 ms to 141–151 ms. Whatever the kernel
 * does not take (the client's buffers are full) goes through `socket.write`, which queues it;
 * later writes follow it through the queue until it is empty, so the order holds. Otherwise (no
 * descriptor, another handle, a queue), always through `socket.write`.
 */
export function writeToSocket(socket: Socket, handle: unknown, fd: number, bytes: Uint8Array): boolean {
  if (fd < 0 || handleOf(socket) !== handle || socket.writableLength > 0) return socket.write(bytes);
  let written = 0;
  try {
    written = writeSync(fd, bytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error; // the caller drops the connection
  }
  return written === bytes.length || socket.write(bytes.subarray(written));
}
