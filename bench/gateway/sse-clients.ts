/**
 * One load-generator process of `sse-vs-centrifugo.ts`: holds SSE streams to one server and
 * records, for every message it parses, the delay from its publish (the `sentAt` it carries, a
 * wall-clock time with sub-millisecond precision, shared by every process of the machine) to its
 * receipt. Several of these run at once, so no single event loop reads every socket.
 *
 * Both servers' frames are read the same way: each `data:` line is JSON, and the message is
 * either that object (the gateway's `availability.updated`) or its `pub.data` (a Centrifugo
 * publication); frames without `k` (the gateway's `retry:`, Centrifugo's `connect` push and
 * pings) are not messages. A stream counts as open when its first bytes arrive: both servers send
 * something at once (the gateway its `retry:`, Centrifugo its `connect` reply with the
 * subscriptions made).
 *
 * A stream is a bare TCP socket with the request written by hand, and its bytes are searched for
 * `data:` lines: the chunked encoding's size lines around them are not `data:` lines, and both
 * servers send a frame as one chunk (a frame split across chunks would fail to parse and count as
 * bogus, which the report shows). Node's HTTP client (its parser, response stream and text
 * decoder) took about 45 % of a load generator's CPU while messages were delivered, and the load
 * generators' event-loop delay is part of every delay measured. Every socket of a process reads
 * into one buffer (`onread`): a `'data'` event costs a new buffer per read and the socket's
 * readable stream around it; without them the three processes took 51–77 % of a core while
 * messages were delivered at 15,000 streams, against 78–106 %, and on two cores that CPU is
 * taken from the server measured.
 *
 * Parent → child: `{type: 'open', url, headers, count, concurrency, localAddress, messages}`,
 * `{type: 'report'}`, `{type: 'close'}`; each answered with a message of the same type.
 */
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface OpenCommand {
  type: 'open';
  url: string;
  headers: Record<string, string>;
  count: number;
  concurrency: number;
  localAddress: string;
  messages: number;
}

export interface Opened {
  type: 'open';
  opened: number;
  errors: Record<string, number>;
  /** Wall-clock times (ms) of the first request and of the last stream's first bytes. */
  startedAt: number;
  doneAt: number;
}

export interface ClientReport {
  type: 'report';
  delays: number[];
  perMessage: number[];
  /** Per message: the shortest and the longest delay of its receipts so far (ms). */
  firstDelay: number[];
  lastDelay: number[];
  received: number;
  duplicates: number;
  bogus: number;
  closedEarly: number;
  cpuMs: number;
  eventLoopDelayP99Ms: number;
}

/** Wall-clock now, in ms with sub-millisecond precision. */
export const wallNow = () => performance.timeOrigin + performance.now();

const sockets: net.Socket[] = [];
/** Every socket reads into this one buffer (`onread`), each read handled before the next. */
const readBuffer = Buffer.allocUnsafe(64 * 1024);
let delays: number[] = [];
let perMessage: number[] = [];
let firstDelay: number[] = [];
let lastDelay: number[] = [];
let received = 0;
let duplicates = 0;
let bogus = 0;
let closedEarly = 0;
let closing = false;
const loop = monitorEventLoopDelay({ resolution: 10 });
let cpuBefore = process.cpuUsage();

/** Records one `data:` line's message, if it is one. */
function onData(line: string, at: number, seen: Uint8Array, messages: number): void {
  let body: { k?: unknown; sentAt?: unknown; pub?: { data?: { k?: unknown; sentAt?: unknown } } };
  try {
    body = JSON.parse(line);
  } catch {
    bogus++;
    return;
  }
  const message = body.pub?.data ?? body;
  if (message.k === undefined) return; // connect reply, ping, retry
  const k = message.k;
  if (typeof k !== 'number' || typeof message.sentAt !== 'number' || k < 0 || k >= messages) {
    bogus++;
    return;
  }
  if (seen[k]) {
    duplicates++;
    return;
  }
  seen[k] = 1;
  perMessage[k] = (perMessage[k] ?? 0) + 1;
  received++;
  const delay = at - message.sentAt;
  delays.push(delay);
  firstDelay[k] = Math.min(firstDelay[k] ?? delay, delay);
  lastDelay[k] = Math.max(lastDelay[k] ?? delay, delay);
}

function openOne(command: OpenCommand, target: URL, request: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const seen = new Uint8Array(command.messages);
    const socket = net.connect({
      host: target.hostname,
      port: Number(target.port),
      localAddress: command.localAddress,
      onread: {
        buffer: readBuffer,
        callback: (bytes: number) => {
          onText(readBuffer.toString('latin1', 0, bytes));
          return true; // keep reading
        },
      },
    });
    sockets.push(socket);
    const firstBytes = setTimeout(() => socket.destroy(new Error('no first bytes in 60 s')), 60_000);
    // Until the head has ended: the head so far. Then: the end of the last chunk that may start a `data:` line.
    let pending = '';
    let open = false;
    socket.on('connect', () => socket.write(request));
    const onText = (read: string) => {
      const at = wallNow();
      let text = pending + read;
      if (!open) {
        const headEnd = text.indexOf('\r\n\r\n');
        if (headEnd < 0) {
          pending = text;
          return;
        }
        clearTimeout(firstBytes);
        const status = text.slice(9, 12);
        if (status !== '200') {
          reject(new Error(`answered ${status}: ${text.slice(headEnd + 4, headEnd + 164)}`));
          socket.destroy();
          return;
        }
        open = true;
        resolve();
        text = text.slice(headEnd + 4);
      }
      let from = 0;
      pending = '';
      for (let start = text.indexOf('data:'); start >= 0; start = text.indexOf('data:', from)) {
        const end = text.indexOf('\n', start);
        if (end < 0) {
          pending = text.slice(start);
          return;
        }
        onData(text.slice(start + 5, end), at, seen, command.messages);
        from = end + 1;
      }
      // The last few characters may begin a `data:` that the next read completes.
      pending = text.slice(Math.max(from, text.length - 4));
    };
    socket.on('error', (error) => {
      clearTimeout(firstBytes);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(firstBytes);
      if (!open) reject(new Error('closed before its head'));
      else if (!closing) closedEarly++;
    });
  });
}

async function open(command: OpenCommand): Promise<Opened> {
  perMessage = new Array<number>(command.messages).fill(0);
  firstDelay = [];
  lastDelay = [];
  const target = new URL(command.url);
  const headers = Object.entries(command.headers).map(([name, value]) => `${name}: ${value}\r\n`);
  const request = `GET ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${target.host}\r\n${headers.join('')}\r\n`;
  const errors: Record<string, number> = {};
  const startedAt = wallNow();
  let next = 0;
  let opened = 0;
  await Promise.all(
    Array.from({ length: Math.min(command.concurrency, command.count) }, async () => {
      while (next < command.count) {
        next++;
        try {
          await openOne(command, target, request);
          opened++;
        } catch (error) {
          const message = (error as Error).message;
          errors[message] = (errors[message] ?? 0) + 1;
        }
      }
    }),
  );
  const doneAt = wallNow();
  loop.reset();
  loop.enable();
  cpuBefore = process.cpuUsage();
  return { type: 'open', opened, errors, startedAt, doneAt };
}

function report(): ClientReport {
  const cpu = process.cpuUsage(cpuBefore);
  const out: ClientReport = {
    type: 'report',
    delays,
    perMessage,
    firstDelay,
    lastDelay,
    received,
    duplicates,
    bogus,
    closedEarly,
    cpuMs: (cpu.user + cpu.system) / 1000,
    eventLoopDelayP99Ms: loop.percentile(99) / 1e6,
  };
  delays = [];
  return out;
}

process.on('message', async (m: { type?: string }) => {
  if (m.type === 'open') process.send?.(await open(m as OpenCommand));
  else if (m.type === 'report') process.send?.(report());
  else if (m.type === 'close') {
    closing = true;
    for (const socket of sockets.splice(0)) socket.destroy();
    process.send?.({ type: 'close' });
  }
});
process.on('disconnect', () => process.exit(0));
// Stopped by the parent: exit as a normal end, so Node writes what its flags ask (`--cpu-prof`).
process.on('SIGTERM', () => process.exit(0));
process.send?.({ type: 'ready' });
