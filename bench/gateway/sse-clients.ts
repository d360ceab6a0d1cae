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
 * Parent → child: `{type: 'open', url, headers, count, concurrency, localAddress, messages}`,
 * `{type: 'report'}`, `{type: 'close'}`; each answered with a message of the same type.
 */
import http from 'node:http';
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
  received: number;
  duplicates: number;
  bogus: number;
  closedEarly: number;
  cpuMs: number;
  eventLoopDelayP99Ms: number;
}

/** Wall-clock now, in ms with sub-millisecond precision. */
export const wallNow = () => performance.timeOrigin + performance.now();

const requests: http.ClientRequest[] = [];
let delays: number[] = [];
let perMessage: number[] = [];
let received = 0;
let duplicates = 0;
let bogus = 0;
let closedEarly = 0;
let closing = false;
const loop = monitorEventLoopDelay({ resolution: 10 });
let cpuBefore = process.cpuUsage();

function openOne(command: OpenCommand, agent: http.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const seen = new Uint8Array(command.messages);
    const req = http.get(command.url, { agent, headers: command.headers, localAddress: command.localAddress, timeout: 60_000 }, (res) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => reject(new Error(`answered ${res.statusCode}: ${body.slice(0, 160)}`)));
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      let open = false;
      res.on('data', (chunk: string) => {
        const at = wallNow();
        if (!open) {
          open = true;
          req.setTimeout(0);
          resolve();
        }
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const line = frame.split('\n').find((l) => l.startsWith('data:'));
          if (!line) continue;
          let body: { k?: unknown; sentAt?: unknown; pub?: { data?: { k?: unknown; sentAt?: unknown } } };
          try {
            body = JSON.parse(line.slice(5));
          } catch {
            bogus++;
            continue;
          }
          const message = body.pub?.data ?? body;
          if (message.k === undefined) continue; // connect reply, ping, retry
          const k = message.k;
          if (typeof k !== 'number' || typeof message.sentAt !== 'number' || k < 0 || k >= command.messages) {
            bogus++;
            continue;
          }
          if (seen[k]) {
            duplicates++;
            continue;
          }
          seen[k] = 1;
          perMessage[k] = (perMessage[k] ?? 0) + 1;
          received++;
          delays.push(at - message.sentAt);
        }
      });
      res.on('close', () => {
        if (!closing) closedEarly++;
      });
    });
    req.on('timeout', () => req.destroy(new Error('no first bytes in 60 s')));
    req.on('error', reject);
    requests.push(req);
  });
}

async function open(command: OpenCommand): Promise<Opened> {
  perMessage = new Array<number>(command.messages).fill(0);
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const errors: Record<string, number> = {};
  const startedAt = wallNow();
  let next = 0;
  let opened = 0;
  await Promise.all(
    Array.from({ length: Math.min(command.concurrency, command.count) }, async () => {
      while (next < command.count) {
        next++;
        try {
          await openOne(command, agent);
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
    for (const req of requests.splice(0)) req.destroy();
    process.send?.({ type: 'close' });
  }
});
process.on('disconnect', () => process.exit(0));
// Stopped by the parent: exit as a normal end, so Node writes what its flags ask (`--cpu-prof`).
process.on('SIGTERM', () => process.exit(0));
process.send?.({ type: 'ready' });
