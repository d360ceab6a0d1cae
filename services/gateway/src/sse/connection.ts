import { type OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { descriptorOf, handleOf, writeToSocket } from '@allot/kit';

/** Where an SSE connection's bytes go. Writing never throws; a gone connection ignores writes. */
export interface SseSink {
  write(chunk: Uint8Array): void;
  /** Ends the response normally (the gateway is shutting down). */
  end(): void;
  /**
   * Undefined while little is waiting to be sent; otherwise a promise that settles once the
   * backlog has drained or the connection is gone.
   */
  ready(): Promise<void> | undefined;
}

/** Waiting bytes above which `ready()` asks the writer to wait. */
const READY_BYTES = 64 * 1024;

export interface SseLimits {
  /** Bytes a connection may have waiting to be sent before it is dropped as stuck. */
  maxBufferedBytes: number;
  /** How long writes may stay backed up (no 'drain') before the connection is dropped (ms). */
  maxStallMs: number;
}

/** A slow client is cut off rather than buffered for without bound; it resumes with Last-Event-ID. */
export const defaultSseLimits: SseLimits = { maxBufferedBytes: 512 * 1024, maxStallMs: 30_000 };

/** A connection's once-only end and the writers waiting for its backlog to drain. */
function lifecycle(onGone: () => void) {
  let gone = false;
  let waiting: (() => void)[] = [];
  const wake = () => {
    const resolvers = waiting;
    waiting = [];
    for (const resolve of resolvers) resolve();
  };
  return {
    isGone: () => gone,
    wake,
    wait: (then?: () => void) =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        then?.();
      }),
    finish(cleanup?: () => void) {
      if (gone) return;
      gone = true;
      cleanup?.();
      wake();
      onGone();
    },
  };
}

/** The sink of a response or connection, for the listeners below (shared by every connection, not made per one). */
const sinkOf = Symbol('sse sink');
type SinkedResponse = ServerResponse & { [sinkOf]?: NodeSink };
type SinkedSocket = Socket & { [sinkOf]?: NodeSink };
function onOutputGone(this: SinkedResponse | SinkedSocket) {
  this[sinkOf]?.finish();
}
function onSocketDrain(this: SinkedSocket) {
  this[sinkOf]?.drained();
}
/** The client ended its side of a connection the stream is written on directly: it is gone. */
function onClientEnd(this: SinkedSocket) {
  this[sinkOf]?.drop();
}

/**
 * A frame as one HTTP/1.1 chunk (its size line, its bytes, CRLF), made once per frame whichever
 * connection writes it first: the fan-out hands every connection the same frame.
 */
const chunks = new WeakMap<Uint8Array, Buffer>();
function chunkOf(frame: Uint8Array): Buffer {
  let chunk = chunks.get(frame);
  if (!chunk) {
    const head = `${frame.length.toString(16)}\r\n`;
    chunk = Buffer.allocUnsafe(head.length + frame.length + 2);
    chunk.write(head, 0, 'latin1');
    chunk.set(frame, head.length);
    chunk.write('\r\n', head.length + frame.length, 'latin1');
    chunks.set(frame, chunk);
  }
  return chunk;
}
/** The chunked body's end. */
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/**
 * An SSE connection on a Node response, or on a connection the gateway answers itself (the SSE
 * lane: `socketSink`), as one object with its methods shared: a server holds thousands of these
 * for hours, so a connection costs its fields and no closures of its own (the listeners are
 * module functions that find it through the response or its socket).
 *
 * On a response, the first write goes through it, which sends the head with it; on a connection,
 * the first write carries the head. Every later one goes straight to the socket (see
 * `writeToSocket`), framed as a chunk once per frame (see `chunkOf`): the response's own `write`
 * would build the chunk framing, check its state and cork the socket again for every connection
 * of every message, which is most of what a fan-out costs. The socket's queue keeps the order,
 * `res.end()` still ends the body, and the response's `writableLength` counts what waits on the
 * socket.
 */
class NodeSink implements SseSink {
  private gone = false;
  private stall: NodeJS.Timeout | undefined;
  private waiting: (() => void)[] | undefined;
  /** Set once writes may go straight to it: at once on a connection, once the head went out on a response. */
  private socket: SinkedSocket | undefined;
  /** The socket's handle and descriptor when it was set (see `writeToSocket`). */
  private handle: unknown;
  private fd = -1;
  private chunked = true;

  constructor(
    /** What the stream is written on. */
    private readonly out: SinkedResponse | SinkedSocket,
    /** The head to send with the first frame, on a connection. */
    private head: Buffer | undefined,
    private readonly onGone: () => void,
    private readonly limits: SseLimits,
  ) {
    out[sinkOf] = this;
    out.once('close', onOutputGone);
    out.on('error', onOutputGone);
    const socket = (out instanceof ServerResponse ? out.socket : out) as SinkedSocket | null;
    if (socket) {
      socket[sinkOf] = this;
      socket.on('drain', onSocketDrain);
    }
    if (socket === out) {
      socket.on('end', onClientEnd); // the gateway's server keeps a connection half-open otherwise
      this.useSocket(socket);
    }
  }

  write(chunk: Uint8Array) {
    if (this.gone) return;
    const out = this.out;
    if (out.destroyed || out.writableEnded) return this.finish();
    if (out.writableLength > this.limits.maxBufferedBytes) return this.drop();
    try {
      let sent: boolean;
      if (this.socket) {
        let bytes = this.chunked ? chunkOf(chunk) : chunk;
        if (this.head) {
          bytes = Buffer.concat([this.head, bytes]);
          this.head = undefined;
        }
        sent = writeToSocket(this.socket, this.handle, this.fd, bytes);
      } else {
        const res = out as SinkedResponse;
        sent = writeNow(res, chunk);
        const socket = res.socket as SinkedSocket | null;
        if (socket?.[sinkOf] === this) {
          this.useSocket(socket);
          this.chunked = res.chunkedEncoding;
        }
      }
      if (!sent && !this.stall) this.stall = setTimeout(() => this.drop(), this.limits.maxStallMs);
    } catch {
      this.drop();
    }
  }

  end() {
    if (this.gone) return;
    const out = this.out;
    if (!out.destroyed && !out.writableEnded) {
      // On a connection, the body (if its head went out) ends with the last chunk.
      if (out instanceof ServerResponse || this.head) out.end();
      else out.end(LAST_CHUNK);
    }
    this.finish();
  }

  ready(): Promise<void> | undefined {
    if (this.gone || this.out.writableLength <= READY_BYTES) return undefined;
    return new Promise<void>((resolve) => {
      this.waiting ??= [];
      this.waiting.push(resolve);
      // 'drain' comes once the socket's buffer is empty, and only after a write returned false.
      if (!(this.socket ?? this.out).writableNeedDrain) setImmediate(() => this.wake());
    });
  }

  /** The connection is over, for whatever reason: runs `onGone` once. */
  finish() {
    if (this.gone) return;
    this.gone = true;
    clearTimeout(this.stall);
    const out = this.out;
    const socket = (out instanceof ServerResponse ? out.socket : out) as SinkedSocket | null;
    if (socket?.[sinkOf] === this) {
      socket.off('drain', onSocketDrain);
      socket[sinkOf] = undefined;
    }
    out[sinkOf] = undefined;
    this.wake();
    this.onGone();
  }

  drained() {
    clearTimeout(this.stall);
    this.stall = undefined;
    this.wake();
  }

  drop() {
    this.out.destroy();
    this.finish();
  }

  private useSocket(socket: SinkedSocket) {
    this.socket = socket;
    this.handle = handleOf(socket);
    this.fd = descriptorOf(socket);
  }

  private wake() {
    const resolvers = this.waiting;
    this.waiting = undefined;
    for (const resolve of resolvers ?? []) resolve();
  }
}

/**
 * Writes straight to the Node response (no Web Streams in between), so a frame costs one
 * `res.write`. `onGone` runs exactly once, when the connection is over for whatever reason:
 * the client went away (the response's 'close'), a write failed, the client stopped reading
 * (more than `maxBufferedBytes` waiting, or no 'drain' for `maxStallMs`), or `end()`.
 */
export function nodeSink(res: ServerResponse, headers: OutgoingHttpHeaders, onGone: () => void, limits = defaultSseLimits): SseSink {
  const sink = new NodeSink(res, undefined, onGone, limits);
  res.writeHead(200, headers);
  compactHead(res);
  return sink;
}

/**
 * The same on a connection the gateway answers itself (the SSE lane): `head` is the response's
 * head (with `transfer-encoding: chunked`), sent with the first frame. The client ending its side
 * counts as gone, and `end()` ends the body and the connection.
 */
export function socketSink(socket: Socket, head: string, onGone: () => void, limits = defaultSseLimits): SseSink {
  return new NodeSink(socket, Buffer.from(head, 'latin1'), onGone, limits);
}

/** Node's (internal) symbol for the header fields a response keeps, found on the first response. */
let fieldsKey: symbol | undefined;

/**
 * Once `writeHead` ran the head is final (Node refuses to change it) and serialised, but Node
 * keeps it twice for as long as the response is open — hours for a stream: the fields as set
 * (one two-element array per field in a dictionary, about 1.2 KiB), and the head's text
 * (`_header`) as the rope its `+=` per field built (about 40 pieces, 1.3 KiB). The fields are
 * dropped (getting a header of a sent response then gives undefined; nothing reads them); the
 * text is only looked at for whether it exists, and reading one character makes V8 flatten the
 * rope in place into one string of the same text (about 0.5 KiB).
 */
function compactHead(res: ServerResponse) {
  const head = (res as { _header?: unknown })._header;
  if (typeof head !== 'string') return;
  head.charCodeAt(0);
  fieldsKey ??= Object.getOwnPropertySymbols(res).find((key) => key.description === 'kOutHeaders');
  if (fieldsKey) (res as unknown as Record<symbol, unknown>)[fieldsKey] = null;
}

/**
 * `res.write`, sent to the socket before returning. Node corks the socket on a chunked write and
 * sends on the next tick, which would put the system calls of a whole burst (one per
 * connection, the real cost of a fan-out) in one uninterrupted run after the fan-out's
 * time-sliced loop; corking here and uncorking at once keeps them inside its slices.
 */
function writeNow(res: ServerResponse, chunk: Uint8Array): boolean {
  const socket = res.socket;
  if (!socket || socket.writableCorked) return res.write(chunk);
  socket.cork();
  try {
    return res.write(chunk);
  } finally {
    socket.uncork();
  }
}

/**
 * The same for runtimes without a Node response (e.g. `app.request()`): a byte stream to return
 * as the response body. Cancelling it (the client went away) counts as gone.
 */
export function webSink(onGone: () => void, limits = defaultSseLimits): { sink: SseSink; body: ReadableStream<Uint8Array> } {
  const life = lifecycle(onGone);
  const finish = () => life.finish();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>(
    {
      start: (c) => {
        controller = c;
      },
      pull: life.wake, // called whenever the queue is below its high-water mark
      cancel: finish,
    },
    new ByteLengthQueuingStrategy({ highWaterMark: READY_BYTES }),
  );
  return {
    body,
    sink: {
      write(chunk) {
        if (life.isGone()) return;
        if ((controller.desiredSize ?? 0) < -limits.maxBufferedBytes) {
          controller.error(new Error('SSE client is not reading'));
          return finish();
        }
        try {
          controller.enqueue(chunk);
        } catch {
          finish();
        }
      },
      end() {
        if (life.isGone()) return;
        try {
          controller.close();
        } catch {}
        finish();
      },
      ready() {
        if (life.isGone() || (controller.desiredSize ?? 0) > 0) return undefined;
        return life.wait();
      },
    },
  };
}
