/**
 * SSE fan-out of the gateway: memory per open stream and delivery delay from a publish on the
 * `CLIENT` stream to its receipt by every connected client, with bare NATS request-reply measured
 * in the same run for context.
 *
 * The gateway runs in its own child process (with --expose-gc) and reports its own memory after
 * a full GC over IPC, before and after the streams open (and after they close again). This
 * process opens SSE_STREAMS connections to `GET /v1/stream?channels=availability` with one
 * tenant API key (node:http, one socket per stream, no keep-alive pooling), then publishes
 * SSE_MESSAGES messages to `client.<tenantId>.availability.<session>.<date>` through JetStream
 * (a request on the stream's subject, answered by the stream's PubAck), SSE_GAP_MS apart, each
 * carrying its publish time; every receipt records publish→receipt delay. Publisher and clients
 * share this process's clock, so the delay includes this process's own reading of N sockets.
 *
 * Env: SSE_STREAMS (5000), SSE_MESSAGES (20), SSE_GAP_MS (200), SSE_OPEN_CONCURRENCY (200),
 * BENCH_SECONDS (5, for the NATS figure), BENCH_LOG_LEVEL (warn), BENCH_GATEWAY_NODE_ARGS (extra Node
 * flags for the gateway, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). Each process needs one file
 * descriptor per stream: `ulimit -n` must exceed SSE_STREAMS (checked below; Node cannot raise it).
 * Writes bench/results/gateway-sse.{json,md}.
 */
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startInfra } from '@allot/local-servers';
import { connect } from '@nats-io/transport-node';
import { machineInfo, natsRequestReply } from '../lib/measure';
import { createTenant, mib, newRootKey, round, sleep, startGatewayChild, versions, writeResults } from './common';
import type { BenchChild } from './ipc';

const streams = Number(process.env.SSE_STREAMS ?? 5000);
const messages = Number(process.env.SSE_MESSAGES ?? 20);
const gapMs = Number(process.env.SSE_GAP_MS ?? 200);
const openConcurrency = Number(process.env.SSE_OPEN_CONCURRENCY ?? 200);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const targetP99Ms = 200;
const OPEN_DEADLINE_MS = 90_000;
const DELIVERY_GRACE_MS = 10_000;

interface GatewayStats {
  memory: NodeJS.MemoryUsage;
  cpu: NodeJS.CpuUsage;
  streams: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

const limits = (process.report?.getReport() as { userLimits?: Record<string, { soft: number | string; hard: number | string }> })
  ?.userLimits?.open_files;
const softFiles = limits?.soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(limits?.soft ?? 1024);
if (softFiles < streams + 500) {
  console.error(
    `ulimit -n is ${limits?.soft} (hard ${limits?.hard}); ${streams} streams need more than ${streams + 500} per process. ` +
      `Raise it in the shell (ulimit -n ${Math.min(Number(limits?.hard ?? streams * 2), streams * 2)}) or lower SSE_STREAMS.`,
  );
  process.exit(2);
}

/** One SSE client: records the receipt time of every `availability.updated` event it parses. */
interface Client {
  req: http.ClientRequest;
  received: Set<number>;
  duplicates: number;
  closed: boolean;
}

const delays: number[] = [];
const perMessage = new Array<number>(messages).fill(0);
const firstDelay = new Array<number>(messages).fill(Number.POSITIVE_INFINITY);
const lastDelay = new Array<number>(messages).fill(0);
let receivedTotal = 0;
let duplicates = 0;
let bogus = 0;

function openStream(agent: http.Agent, port: number, key: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client: Client = { req: undefined as unknown as http.ClientRequest, received: new Set(), duplicates: 0, closed: false };
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/stream?channels=availability',
        agent,
        headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
        timeout: 30_000,
      },
      (res) => {
        if (res.statusCode !== 200) {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => reject(new Error(`stream answered ${res.statusCode}: ${body.slice(0, 200)}`)));
          return;
        }
        req.setTimeout(0);
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          const at = performance.now();
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!event.includes('event: availability.updated')) continue;
            const line = event.split('\n').find((l) => l.startsWith('data: '));
            const data = line ? (JSON.parse(line.slice(6)) as { k?: number; sentAt?: number }) : {};
            if (typeof data.k !== 'number' || typeof data.sentAt !== 'number' || data.k >= messages) {
              bogus++;
              continue;
            }
            if (client.received.has(data.k)) {
              duplicates++;
              continue;
            }
            client.received.add(data.k);
            perMessage[data.k] = (perMessage[data.k] ?? 0) + 1;
            receivedTotal++;
            const delay = at - data.sentAt;
            delays.push(delay);
            firstDelay[data.k] = Math.min(firstDelay[data.k] ?? delay, delay);
            lastDelay[data.k] = Math.max(lastDelay[data.k] ?? delay, delay);
          }
        });
        res.on('close', () => (client.closed = true));
        resolve(client);
      },
    );
    client.req = req;
    req.on('timeout', () => req.destroy(new Error('no response in 30 s')));
    req.on('error', (error) => {
      client.closed = true;
      reject(error);
    });
  });
}

const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(250);
  }
  console.warn(`gave up waiting for ${what} after ${timeoutMs} ms`);
  return false;
}

const infra = await startInfra();
let gw: BenchChild | undefined;
const clients: Client[] = [];
const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
try {
  console.log(`context: NATS request-reply, ${seconds} s ...`);
  const nats = await natsRequestReply(infra.natsUrl, seconds);

  const rootKey = newRootKey();
  gw = await startGatewayChild(infra, rootKey, {
    readyServices: '',
    // Every stream uses one API key: the per-credential and per-tenant caps are raised past them.
    env: { SSE_MAX_STREAMS_PER_CREDENTIAL: String(streams + 10), SSE_MAX_STREAMS_PER_TENANT: String(streams + 10) },
    nodeArgs: ['--expose-gc', ...(process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
  });
  const gateway = gw;
  const port = Number(gateway.ready.port);
  const { tenantId, key } = await createTenant(`http://127.0.0.1:${port}`, rootKey);
  await sleep(500);
  const idle = await gateway.ask<GatewayStats>('stats');

  // Open the streams, SSE_OPEN_CONCURRENCY at a time, within OPEN_DEADLINE_MS.
  console.log(`opening ${streams} streams (${openConcurrency} at a time) ...`);
  const openErrors = new Map<string, number>();
  const openStarted = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(openConcurrency, streams) }, async () => {
      while (next < streams && performance.now() - openStarted < OPEN_DEADLINE_MS) {
        next++;
        try {
          clients.push(await openStream(agent, port, key));
        } catch (error) {
          const message = (error as Error).message;
          openErrors.set(message, (openErrors.get(message) ?? 0) + 1);
        }
      }
    }),
  );
  const openedMs = performance.now() - openStarted;
  // A 200 comes before the gateway registers the stream with its fan-out: wait until it has them all.
  await waitFor(
    `${clients.length} registered streams`,
    async () => (await gateway.ask<GatewayStats>('stats')).streams >= clients.length,
    30_000,
  );
  const registeredMs = performance.now() - openStarted;
  const open = await gateway.ask<GatewayStats>('stats');
  console.log(`opened ${clients.length}/${streams} in ${round(openedMs / 1000, 1)} s; gateway has ${open.streams} registered`);

  // Publish M messages SSE_GAP_MS apart, each stamped with its publish time.
  const nc = await connect({ servers: infra.natsUrl });
  const sessionId = 'bench';
  const date = '2030-01-15';
  const subject = `client.${tenantId}.availability.${sessionId}.${date}`;
  const publishMs: number[] = [];
  const clientLoop = monitorEventLoopDelay({ resolution: 10 });
  clientLoop.enable();
  const clientCpuBefore = process.cpuUsage();
  const publishStarted = performance.now();
  try {
    for (let k = 0; k < messages; k++) {
      const sentAt = performance.now();
      const body = JSON.stringify({ event: 'availability.updated', data: { sessionId, date, k, sentAt, available: 100 - k } });
      const ack = await nc.request(subject, body, { timeout: 5000 });
      const pubAck = ack.json<{ stream?: string; error?: unknown }>();
      if (pubAck.stream !== 'CLIENT') throw new Error(`publish was not stored by CLIENT: ${ack.string()}`);
      publishMs.push(performance.now() - sentAt);
      await sleep(Math.max(0, publishStarted + (k + 1) * gapMs - performance.now()));
    }
  } finally {
    await nc.close();
  }
  const expected = clients.length * messages;
  await waitFor(`${expected} deliveries`, async () => receivedTotal >= expected, DELIVERY_GRACE_MS);
  const delivery = await gateway.ask<GatewayStats>('stats');
  const deliveryCpuMs = (delivery.cpu.user - open.cpu.user + delivery.cpu.system - open.cpu.system) / 1000;
  const deliveryWallMs = performance.now() - publishStarted;
  clientLoop.disable();
  const clientCpu = process.cpuUsage(clientCpuBefore);

  // Close every stream; the gateway must let go of all of them.
  for (const client of clients) client.req.destroy();
  const released = await waitFor(
    'the gateway to release the streams',
    async () => (await gateway.ask<GatewayStats>('stats')).streams === 0,
    15_000,
  );
  const closed = await gateway.ask<GatewayStats>('stats');

  const sorted = [...delays].sort((a, b) => a - b);
  const delay = {
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    maxMs: round(sorted.at(-1) ?? Number.NaN),
    minMs: round(sorted[0] ?? Number.NaN),
  };
  const opened = clients.length;
  const perStream = {
    rssKiB: round((open.memory.rss - idle.memory.rss) / opened / 1024, 1),
    heapUsedKiB: round((open.memory.heapUsed - idle.memory.heapUsed) / opened / 1024, 1),
    externalKiB: round((open.memory.external - idle.memory.external) / opened / 1024, 1),
  };
  const mem = (s: GatewayStats) => ({
    rssMiB: mib(s.memory.rss),
    heapUsedMiB: mib(s.memory.heapUsed),
    externalMiB: mib(s.memory.external),
    streams: s.streams,
  });
  const delivered = receivedTotal;
  const allDelivered = delivered === streams * messages && duplicates === 0 && bogus === 0;
  const met = allDelivered && delay.p99Ms < targetP99Ms;
  const verdict = `${met ? 'MET' : 'NOT MET'}: p99 publish→receipt ${delay.p99Ms} ms over ${delivered}/${streams * messages} deliveries to ${opened} streams (target p99 < ${targetP99Ms} ms, all delivered)`;
  const report = {
    measuredAt: new Date().toISOString(),
    machine: machineInfo(),
    versions: versions(),
    settings: { streams, messages, gapMs, openConcurrency, openFilesLimit: limits, gcExposedInGateway: gateway.ready.gcExposed },
    layout:
      'gateway in a child process (--expose-gc, memory reported by itself after a full GC); SSE clients and publisher in the benchmark process',
    baseline: { natsRequestReply: nats },
    open: {
      opened,
      failed: streams - opened,
      errors: Object.fromEntries(openErrors),
      seconds: round(openedMs / 1000, 2),
      perSecond: round(opened / (openedMs / 1000), 0),
      allRegisteredAfterSeconds: round(registeredMs / 1000, 2),
    },
    gatewayMemory: { idle: mem(idle), open: mem(open), afterDelivery: mem(delivery), afterClose: mem(closed) },
    perStream,
    delivery: {
      expected: streams * messages,
      delivered,
      perMessage,
      duplicates,
      bogus,
      delay,
      publishAckMs: {
        p50: round(
          percentile(
            [...publishMs].sort((a, b) => a - b),
            0.5,
          ),
        ),
        max: round(Math.max(...publishMs)),
      },
      gatewayCpuPercentOfOneCore: round((deliveryCpuMs / deliveryWallMs) * 100, 0),
      gatewayEventLoopDelayMs: delivery.eventLoopDelayMs,
      firstReceiptDelayMsPerMessage: firstDelay.map((d) => round(d)),
      lastReceiptDelayMsPerMessage: lastDelay.map((d) => round(d)),
      clientProcess: {
        cpuPercentOfOneCore: round(((clientCpu.user + clientCpu.system) / 1000 / deliveryWallMs) * 100, 0),
        eventLoopDelayMs: { p99: round(clientLoop.percentile(99) / 1e6), max: round(clientLoop.max / 1e6) },
      },
    },
    closeReleasedAllStreams: released,
    ratio: { deliveryP99ToNatsRequestReplyP99: round(delay.p99Ms / nats.p99Ms, 1) },
    target: { deliveryP99Ms: targetP99Ms },
    met,
    verdict,
  };
  const m = report.machine;
  const v = report.versions;
  const md = [
    '# Gateway SSE fan-out',
    '',
    `Measured ${report.measuredAt} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform};`,
    `nats-server ${v.NATS_SERVER_VERSION}, FerretDB ${v.FERRETDB_VERSION} (SQLite). Layout: ${report.layout}.`,
    `${streams} streams \`GET /v1/stream?channels=availability\` with one tenant API key, opened ${openConcurrency} at a time;`,
    `${messages} messages published to \`client.<tenant>.availability.<session>.<date>\` on the CLIENT stream, ${gapMs} ms apart.`,
    '',
    '| what | figure |',
    '|---|---:|',
    `| baseline: bare NATS request-reply (32 in flight), ops/s · p50 · p99 | ${nats.perSecond} · ${nats.p50Ms} ms · ${nats.p99Ms} ms |`,
    `| streams opened / asked | ${opened} / ${streams} (${report.open.failed} failed) |`,
    `| open rate | ${report.open.perSecond} streams/s (${report.open.seconds} s; all registered after ${report.open.allRegisteredAfterSeconds} s) |`,
    `| gateway RSS idle → open | ${report.gatewayMemory.idle.rssMiB} → ${report.gatewayMemory.open.rssMiB} MiB |`,
    `| gateway heapUsed idle → open | ${report.gatewayMemory.idle.heapUsedMiB} → ${report.gatewayMemory.open.heapUsedMiB} MiB |`,
    `| **memory per stream** (RSS · heapUsed · external) | **${perStream.rssKiB} KiB** · ${perStream.heapUsedKiB} KiB · ${perStream.externalKiB} KiB |`,
    `| deliveries | ${delivered} / ${streams * messages} (${duplicates} duplicates) |`,
    `| **publish → receipt delay** p50 · p99 · max | ${delay.p50Ms} ms · **${delay.p99Ms} ms** · ${delay.maxMs} ms |`,
    `| delay p99 ÷ bare NATS request-reply p99 | ${report.ratio.deliveryP99ToNatsRequestReplyP99} |`,
    `| gateway CPU while delivering · event-loop delay p99 / max | ${report.delivery.gatewayCpuPercentOfOneCore}% of one core · ${round(delivery.eventLoopDelayMs.p99)} / ${round(delivery.eventLoopDelayMs.max)} ms |`,
    `| clients' process (this one) while receiving: CPU · event-loop delay p99 / max | ${report.delivery.clientProcess.cpuPercentOfOneCore}% of one core · ${report.delivery.clientProcess.eventLoopDelayMs.p99} / ${report.delivery.clientProcess.eventLoopDelayMs.max} ms |`,
    `| per message: first receipt → last receipt, median over messages | ${round(
      percentile(
        [...firstDelay].sort((a, b) => a - b),
        0.5,
      ),
    )} ms → ${round(
      percentile(
        [...lastDelay].sort((a, b) => a - b),
        0.5,
      ),
    )} ms |`,
    `| after closing all streams: registered · RSS · heapUsed | ${closed.streams} · ${report.gatewayMemory.afterClose.rssMiB} MiB · ${report.gatewayMemory.afterClose.heapUsedMiB} MiB |`,
    '',
    `**Verdict — ${verdict}.**`,
    '',
  ].join('\n');
  writeResults('gateway-sse', report, md);
  console.log(md);
} finally {
  for (const client of clients) client.req.destroy();
  agent.destroy();
  await gw?.stop();
  await infra.stop();
}
