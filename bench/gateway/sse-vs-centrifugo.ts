/**
 * SSE fan-out of the gateway side by side with Centrifugo v6 (built once into .cache/bin by
 * `build-centrifugo.sh`), with the same load on both in one run: for each stream count, N streams
 * on one channel, then SSE_MESSAGES messages of the same body published SSE_GAP_MS apart, after
 * SSE_WARMUP_MESSAGES published the same way but not measured (they carry no `k`, so the load
 * generators skip them). A server started fresh for the figure runs its delivery code for the first
 * time on the first messages (the gateway's is optimised by V8 while it delivers them), and the
 * first one or two were the slowest of every run: their last receipt about 190 ms, the others'
 * about 110 ms (gateway alone, 15,000 streams). A server in service has long been warm. Both
 * servers get the same warm-up.
 *
 * - Gateway: `GET /v1/stream?channels=availability` with one tenant API key; messages published
 *   as the platform publishes client messages, to `client.<tenant>.availability.<session>.<date>`
 *   on the CLIENT stream (a JetStream publish, answered by its PubAck).
 * - Centrifugo: its unidirectional SSE transport (`/connection/uni_sse`) with a connection JWT
 *   (HS256) whose `channels` claim subscribes the stream to one channel, memory engine;
 *   messages published through its HTTP API (`POST /api/publish`, API key).
 * - Context, bare Hono (`bare-sse-server.ts`): the same streams on bare Hono with nothing of the
 *   gateway's own, fed by a core NATS subscription: SSE as one would write it with the gateway's
 *   HTTP stack and nothing else (no target).
 * - Floor, raw `node:net` (`raw-sse-server.ts`): the same streams answered with fixed bytes and
 *   written with one system call each, fed the same way: what this machine's kernel and one Node
 *   thread allow, the floor under every Node server's figures (no target). A target the floor
 *   misses in a run is out of reach of one Node thread on the machine in that hour.
 *
 * Streams are held by SSE_CLIENT_PROCESSES load-generator processes (`sse-clients.ts`), each from
 * its own loopback address so no run runs out of local ports (and no figure shares addresses with
 * an earlier one: see `addressOctet`). Each server runs alone (the other
 * stopped), started fresh for each figure. Figures: open rate (streams whose first bytes arrived
 * ÷ seconds from the first request to the last), memory per stream (the server's RSS with every
 * stream open minus its RSS before, ÷ streams; the gateway's after a full GC), publish → receipt
 * delay p50/p99/max over every receipt, deliveries, and the server's CPU while opening and while
 * delivering (from /proc, % of one core). SSE_ROUNDS rounds per count, the servers taking turns in
 * each; each server's figures are its medians over the rounds (see `roundsPerCount`).
 *
 * Env: SSE_STREAM_COUNTS (10000,15000), SSE_ROUNDS (3), SSE_HOLD_MS (10000), SSE_MESSAGES (20), SSE_WARMUP_MESSAGES (2), SSE_GAP_MS (200), SSE_OPEN_CONCURRENCY
 * (200 in all), SSE_CLIENT_PROCESSES (3), SSE_PAYLOAD_BYTES (200: padding in each message),
 * SSE_GATEWAY_UNDER_TSX (1: run the gateway's TypeScript under tsx instead of compiled, as the
 * other gateway benchmarks do), BENCH_GATEWAY_NODE_ARGS (extra Node flags for the gateway, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`),
 * SSE_CLIENT_NODE_ARGS (the same for the load generators),
 * BENCH_LOG_LEVEL. `ulimit -n` must exceed the largest count (every process holds one file per stream).
 * Writes bench/results/gateway-sse-vs-centrifugo.{json,md}.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startInfra } from '@allot/local-servers';
import { connect } from '@nats-io/transport-node';
import { machineInfo } from '../lib/measure';
import { compiled, createTenant, here, mib, newRootKey, root, round, sleep, startGatewayChild, versions, writeResults } from './common';
import { type BenchChild, startChild } from './ipc';
import type { ClientReport, OpenCommand, Opened } from './sse-clients';
import { wallNow } from './sse-clients';

const counts = (process.env.SSE_STREAM_COUNTS ?? '10000,15000').split(',').map(Number);
const messages = Number(process.env.SSE_MESSAGES ?? 20);
const warmupMessages = Number(process.env.SSE_WARMUP_MESSAGES ?? 2);
const gapMs = Number(process.env.SSE_GAP_MS ?? 200);
const openConcurrency = Number(process.env.SSE_OPEN_CONCURRENCY ?? 200);
const clientProcesses = Number(process.env.SSE_CLIENT_PROCESSES ?? 3);
const clientNodeArgs = process.env.SSE_CLIENT_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
const payloadBytes = Number(process.env.SSE_PAYLOAD_BYTES ?? 200);
/** SSE_ONLY_GATEWAY=1 (profiling): no Centrifugo run, and no result files. */
const onlyGateway = process.env.SSE_ONLY_GATEWAY === '1';
const holdMs = Number(process.env.SSE_HOLD_MS ?? 10_000);
/**
 * Rounds per count, the servers taking turns in each (gateway, Centrifugo, bare Hono, raw): one figure
 * of a server varies by a third from one minute to the next here (its open rate, its p99), so
 * the report compares each server's median over the rounds, and lists every round.
 */
const roundsPerCount = Number(process.env.SSE_ROUNDS ?? 3);
const DELIVERY_GRACE_MS = 15_000;
const target = { p99Ms: 200, memoryPerStreamKiB: 10 };

const limits = (process.report?.getReport() as { userLimits?: Record<string, { soft: number | string }> })?.userLimits?.open_files;
const softFiles = limits?.soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(limits?.soft ?? 1024);
if (softFiles < Math.max(...counts) + 500) {
  console.error(`ulimit -n is ${limits?.soft}; ${Math.max(...counts)} streams need more per process. Raise it or lower SSE_STREAM_COUNTS.`);
  process.exit(2);
}

// ---- the servers' processes: RSS and CPU from /proc ----

function procStats(pid: number): { rss: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rss: rssKiB * 1024, cpuMs: ((Number(fields[11]) + Number(fields[12])) / 100) * 1000 };
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** A server under test, as the run needs it: where streams connect, how to publish, its process. */
interface Server {
  name: 'gateway' | 'centrifugo' | 'bare Hono' | 'raw node:net';
  pid: number;
  url: string;
  headers: Record<string, string>;
  /** Publishes one message body; resolves when the server accepted it. */
  publish(data: Record<string, unknown>): Promise<void>;
  /** RSS and CPU; the gateway's after a full GC. */
  stats(): Promise<{ rss: number; heapUsed?: number; cpuMs: number }>;
  /** Streams the server has registered (undefined when it does not say). */
  registered(): Promise<number | undefined>;
  stop(): Promise<void>;
}

interface GatewayStats {
  memory: NodeJS.MemoryUsage;
  streams: number;
}

async function startGatewayServer(infra: { natsUrl: string; mongoUrl: string }, streams: number, entry: string): Promise<Server> {
  const rootKey = newRootKey();
  const gw: BenchChild = await startGatewayChild(infra, rootKey, {
    entry,
    readyServices: '',
    env: { SSE_MAX_STREAMS_PER_CREDENTIAL: String(streams + 10), SSE_MAX_STREAMS_PER_TENANT: String(streams + 10) },
    nodeArgs: ['--expose-gc', ...(process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
  });
  const port = Number(gw.ready.port);
  const { tenantId, key } = await createTenant(`http://127.0.0.1:${port}`, rootKey);
  const nc = await connect({ servers: infra.natsUrl });
  const subject = `client.${tenantId}.availability.bench.2030-01-15`;
  const pid = gw.process.pid as number;
  return {
    name: 'gateway',
    pid,
    url: `http://127.0.0.1:${port}/v1/stream?channels=availability`,
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
    async publish(data) {
      const ack = await nc.request(subject, JSON.stringify({ event: 'availability.updated', data }), { timeout: 5000 });
      if (ack.json<{ stream?: string }>().stream !== 'CLIENT') throw new Error(`publish was not stored by CLIENT: ${ack.string()}`);
    },
    async stats() {
      const s = await gw.ask<GatewayStats>('stats'); // runs a full GC first
      return { rss: s.memory.rss, heapUsed: s.memory.heapUsed, cpuMs: procStats(pid).cpuMs };
    },
    async registered() {
      return (await gw.ask<GatewayStats>('stats')).streams;
    },
    async stop() {
      await nc.close();
      await gw.stop();
    },
  };
}

/** A context figure (`bare-sse-server.ts`, `raw-sse-server.ts`): SSE fed by a core NATS subscription. */
async function startNodeServer(name: 'bare Hono' | 'raw node:net', infra: { natsUrl: string }, entry: string): Promise<Server> {
  const subject = `bench.sse.${randomBytes(4).toString('hex')}`;
  const child = await startChild(entry, { NATS_URL: infra.natsUrl, SUBJECT: subject });
  const nc = await connect({ servers: infra.natsUrl });
  const pid = child.process.pid as number;
  return {
    name,
    pid,
    url: `http://127.0.0.1:${Number(child.ready.port)}/stream`,
    headers: { accept: 'text/event-stream' },
    async publish(data) {
      await nc.request(subject, JSON.stringify(data), { timeout: 5000 });
    },
    stats: async () => procStats(pid),
    async registered() {
      return (await child.ask<{ streams: number }>('stats')).streams;
    },
    async stop() {
      await nc.close();
      await child.stop();
    },
  };
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');
function hs256(claims: Record<string, unknown>, secret: string): string {
  const unsigned = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

async function startCentrifugo(binary: string, channel: string): Promise<Server> {
  const port = await freePort();
  const secret = randomBytes(32).toString('hex');
  const apiKey = randomBytes(16).toString('hex');
  const configFile = path.join(os.tmpdir(), `centrifugo-bench-${process.pid}.json`);
  writeFileSync(
    configFile,
    JSON.stringify({
      log: { level: 'error' },
      http_server: { address: '127.0.0.1', port },
      engine: { type: 'memory' },
      client: { token: { hmac_secret_key: secret }, allowed_origins: ['*'] },
      http_api: { key: apiKey },
      uni_sse: { enabled: true },
      health: { enabled: true },
      usage_stats: { disabled: true }, // it would report to the outside
    }),
  );
  const child: ChildProcess = spawn(binary, ['--config', configFile], { stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`centrifugo exited (code ${child.exitCode})`);
    const ok = await fetch(`${base}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error('centrifugo did not answer /health in 30 s');
    await sleep(100);
  }
  const token = hs256({ sub: 'bench', channels: [channel], exp: Math.floor(Date.now() / 1000) + 3600 }, secret);
  const pid = child.pid as number;
  return {
    name: 'centrifugo',
    pid,
    url: `${base}/connection/uni_sse?cf_connect=${encodeURIComponent(JSON.stringify({ token }))}`,
    headers: { accept: 'text/event-stream' },
    async publish(data) {
      const res = await fetch(`${base}/api/publish`, {
        method: 'POST',
        headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ channel, data }),
        signal: AbortSignal.timeout(5000),
      });
      const text = await res.text();
      if (!res.ok || text.includes('"error"')) throw new Error(`centrifugo publish failed: ${res.status} ${text}`);
    },
    async stats() {
      return procStats(pid);
    },
    async registered() {
      return undefined;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

// ---- the load generators ----

interface Worker {
  child: ChildProcess;
  ask<T>(message: Record<string, unknown>): Promise<T>;
}

async function startWorker(): Promise<Worker> {
  const child = spawn(process.execPath, [...clientNodeArgs, '--import', 'tsx', path.join(here, 'sse-clients.ts')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`load generator exited (code ${code})`)));
  });
  return {
    child,
    ask: <T>(message: Record<string, unknown>) =>
      new Promise<T>((resolve) => {
        const onMessage = (m: { type?: string }) => {
          if (m.type !== message.type) return;
          child.off('message', onMessage);
          resolve(m as T);
        };
        child.on('message', onMessage);
        child.send(message);
      }),
  };
}

const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const percentOfCore = (cpuMs: number, wallMs: number) => round((cpuMs / wallMs) * 100, 0);

async function waitFor(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(200);
  }
  return false;
}

/**
 * Each figure's load generators connect from loopback addresses of their own (`127.<run>.<figure>.<process>`,
 * the run's octet drawn at random): a closed stream leaves its client port in TIME_WAIT for a
 * minute, and a `bind` to an address crowded with them is slow. With the same addresses every
 * time, each figure opened its streams more slowly than the one before, and a run started soon
 * after another more slowly still (4,000 streams a second, then 1,800, with the same code).
 */
const addressOctet = 1 + Math.floor(Math.random() * 254);
let figuresMeasured = 0;

/** One figure: `streams` streams on `server`, then the messages. */
async function measure(server: Server, streams: number) {
  const figure = ++figuresMeasured;
  const workers = await Promise.all(Array.from({ length: clientProcesses }, startWorker));
  try {
    await sleep(1000);
    const idle = await server.stats();
    console.log(`${server.name}: opening ${streams} streams ...`);
    const share = (i: number) => Math.floor(streams / clientProcesses) + (i < streams % clientProcesses ? 1 : 0);
    const openedAll = await Promise.all(
      workers.map((w, i) =>
        w.ask<Opened>({
          type: 'open',
          url: server.url,
          headers: server.headers,
          count: share(i),
          concurrency: Math.max(1, Math.round(openConcurrency / clientProcesses)),
          localAddress: `127.${addressOctet}.${figure}.${10 + i}`,
          messages,
        } satisfies OpenCommand),
      ),
    );
    const opened = openedAll.reduce((n, o) => n + o.opened, 0);
    const openMs = Math.max(...openedAll.map((o) => o.doneAt)) - Math.min(...openedAll.map((o) => o.startedAt));
    const errors: Record<string, number> = {};
    for (const o of openedAll) for (const [m, n] of Object.entries(o.errors)) errors[m] = (errors[m] ?? 0) + n;
    const registeredAll = await waitFor(async () => ((await server.registered()) ?? opened) >= opened, 30_000);
    const openCpuMs = (await server.stats()).cpuMs - idle.cpuMs;
    const justOpen = await server.stats();
    // Memory once the streams have been held a while, not in the wake of the burst of opens.
    await sleep(holdMs);
    const open = await server.stats();
    const heap = open.heapUsed === undefined ? '' : `, heap +${mib(open.heapUsed - (idle.heapUsed ?? 0))} MiB`;
    console.log(
      `${server.name}: ${opened}/${streams} open in ${round(openMs / 1000, 1)} s, RSS +${mib(open.rss - idle.rss)} MiB${heap}; publishing ${messages} messages ...`,
    );

    const pad = 'x'.repeat(payloadBytes);
    for (let w = 0; w < warmupMessages; w++) {
      await server.publish({ sessionId: 'bench', date: '2030-01-15', warmup: w, available: 100, pad });
      await sleep(gapMs);
    }
    const publishStarted = wallNow();
    for (let k = 0; k < messages; k++) {
      await server.publish({ sessionId: 'bench', date: '2030-01-15', k, sentAt: wallNow(), available: 100 - k, pad });
      await sleep(Math.max(0, publishStarted + (k + 1) * gapMs - wallNow()));
    }
    const expected = opened * messages;
    // Each report holds the delays recorded since the previous one, and counts so far.
    const reports: ClientReport[] = [];
    await waitFor(async () => {
      const batch = await Promise.all(workers.map((w) => w.ask<ClientReport>({ type: 'report' })));
      reports.push(...batch);
      return batch.reduce((n, r) => n + r.received, 0) >= expected;
    }, DELIVERY_GRACE_MS);
    const deliveryWallMs = wallNow() - publishStarted;
    const delivered = await server.stats();
    const last = reports.slice(-workers.length);
    const received = last.reduce((n, r) => n + r.received, 0);
    const delays = reports.flatMap((r) => r.delays).sort((a, b) => a - b);
    const perMessage = new Array<number>(messages).fill(0);
    for (const r of last) for (const [k, n] of r.perMessage.entries()) perMessage[k] = (perMessage[k] ?? 0) + n;
    // A message's spread: from its first receipt in any process to its last.
    const firstReceiptMs = perMessage.map((_, k) => round(Math.min(...last.map((r) => r.firstDelay[k] ?? Number.NaN))));
    const lastReceiptMs = perMessage.map((_, k) => round(Math.max(...last.map((r) => r.lastDelay[k] ?? Number.NaN))));
    await Promise.all(workers.map((w) => w.ask({ type: 'close' })));
    return {
      streams,
      opened,
      openErrors: errors,
      registeredAll,
      openSeconds: round(openMs / 1000, 2),
      openPerSecond: round(opened / (openMs / 1000), 0),
      openCpuPercentOfOneCore: percentOfCore(openCpuMs, openMs),
      rssIdleMiB: mib(idle.rss),
      rssOpenMiB: mib(open.rss),
      memoryPerStreamKiB: round((open.rss - idle.rss) / Math.max(1, opened) / 1024, 1),
      memoryPerStreamJustOpenKiB: round((justOpen.rss - idle.rss) / Math.max(1, opened) / 1024, 1),
      heapPerStreamKiB:
        open.heapUsed === undefined || idle.heapUsed === undefined
          ? null
          : round((open.heapUsed - idle.heapUsed) / Math.max(1, opened) / 1024, 1),
      expected,
      received,
      missing: expected - received,
      duplicates: last.reduce((n, r) => n + r.duplicates, 0),
      bogus: last.reduce((n, r) => n + r.bogus, 0),
      closedEarly: last.reduce((n, r) => n + r.closedEarly, 0),
      perMessage,
      firstReceiptMsPerMessage: firstReceiptMs,
      lastReceiptMsPerMessage: lastReceiptMs,
      delay: {
        p50Ms: round(percentile(delays, 0.5)),
        p99Ms: round(percentile(delays, 0.99)),
        maxMs: round(delays.at(-1) ?? Number.NaN),
      },
      deliveryCpuPercentOfOneCore: percentOfCore(delivered.cpuMs - open.cpuMs, deliveryWallMs),
      clientsCpuPercentOfOneCore: percentOfCore(
        last.reduce((n, r) => n + r.cpuMs, 0),
        deliveryWallMs,
      ),
      clientsEventLoopDelayP99Ms: round(Math.max(...last.map((r) => r.eventLoopDelayP99Ms))),
    };
  } finally {
    for (const w of workers) w.child.kill();
  }
}

type Figure = Awaited<ReturnType<typeof measure>>;

interface Round {
  gateway: Figure;
  centrifugo: Figure;
  bareHono?: Figure;
  raw?: Figure;
}

/**
 * A server's figure over the rounds: each measure's median (of three, the middle one; of two, the
 * lower), counts of missing, duplicated and stray messages added up, the fewest streams opened,
 * and every round's per-message receipts.
 */
function medianFigure(figures: Figure[]): Figure {
  const mid = <T>(pick: (f: Figure) => T): T => {
    const values = figures.map(pick).sort((a, b) => Number(a) - Number(b));
    return values[Math.floor((values.length - 1) / 2)] as T;
  };
  const sum = (pick: (f: Figure) => number) => figures.reduce((n, f) => n + pick(f), 0);
  const first = figures[0] as Figure;
  const summary: Figure = { ...first };
  for (const key of Object.keys(first) as (keyof Figure)[]) {
    if (typeof first[key] === 'number') (summary as Record<string, unknown>)[key] = mid((f) => f[key] as number);
  }
  return {
    ...summary,
    opened: Math.min(...figures.map((f) => f.opened)),
    heapPerStreamKiB: first.heapPerStreamKiB === null ? null : mid((f) => f.heapPerStreamKiB),
    missing: sum((f) => f.missing),
    duplicates: sum((f) => f.duplicates),
    bogus: sum((f) => f.bogus),
    closedEarly: sum((f) => f.closedEarly),
    expected: sum((f) => f.expected),
    received: sum((f) => f.received),
    delay: { p50Ms: mid((f) => f.delay.p50Ms), p99Ms: mid((f) => f.delay.p99Ms), maxMs: mid((f) => f.delay.maxMs) },
    registeredAll: figures.every((f) => f.registeredAll),
    openErrors: Object.assign({}, ...figures.map((f) => f.openErrors)),
    perMessage: first.perMessage.map((_, k) => sum((f) => f.perMessage[k] ?? 0)),
    firstReceiptMsPerMessage: figures.flatMap((f) => f.firstReceiptMsPerMessage),
    lastReceiptMsPerMessage: figures.flatMap((f) => f.lastReceiptMsPerMessage),
  };
}

/** One figure on a server started fresh for it, stopped afterwards whatever happened. */
async function figureOf(server: Server, streams: number): Promise<Figure> {
  try {
    return await measure(server, streams);
  } finally {
    await server.stop();
  }
}

const centrifugoBinary = execFileSync('bash', [path.join(here, 'build-centrifugo.sh')], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
})
  .trim()
  .split('\n')
  .at(-1) as string;
// `go install` leaves the binary's own version unset: the built module version is beside it.
const centrifugoVersion = `Centrifugo ${readFileSync(`${centrifugoBinary}.version`, 'utf8').trim()}`;

const gatewayEntry = process.env.SSE_GATEWAY_UNDER_TSX === '1' ? path.join(here, 'gateway-server.ts') : compiled('gateway-server.ts');
const bareEntry = onlyGateway ? '' : compiled('bare-sse-server.ts');
const rawEntry = onlyGateway ? '' : compiled('raw-sse-server.ts');
const loadAtStart = os.loadavg();
const infra = await startInfra();
const runs: { streams: number; gateway: Figure; centrifugo: Figure; bareHono?: Figure; raw?: Figure; rounds: Round[] }[] = [];
try {
  for (const streams of counts) {
    const rounds: Round[] = [];
    for (let r = 0; r < (onlyGateway ? 1 : roundsPerCount); r++) {
      const gateway = await figureOf(await startGatewayServer(infra, streams, gatewayEntry), streams);
      if (onlyGateway) {
        rounds.push({ gateway, centrifugo: gateway });
        continue;
      }
      await sleep(2000);
      const centrifugo = await figureOf(await startCentrifugo(centrifugoBinary, 'availability_bench'), streams);
      await sleep(2000);
      const bareHono = await figureOf(await startNodeServer('bare Hono', infra, bareEntry), streams);
      await sleep(2000);
      const raw = await figureOf(await startNodeServer('raw node:net', infra, rawEntry), streams);
      rounds.push({ gateway, centrifugo, bareHono, raw });
      await sleep(2000);
    }
    const of = (server: keyof Round) => medianFigure(rounds.map((turn) => turn[server]).filter((f) => f !== undefined));
    runs.push({
      streams,
      gateway: of('gateway'),
      centrifugo: of('centrifugo'),
      bareHono: onlyGateway ? undefined : of('bareHono'),
      raw: onlyGateway ? undefined : of('raw'),
      rounds,
    });
  }
} finally {
  await infra.stop();
}

const verdicts = runs.map(({ streams, gateway: g, centrifugo: c }) => {
  const checks = {
    p99: g.delay.p99Ms < target.p99Ms && g.delay.p99Ms < c.delay.p99Ms,
    memory: g.memoryPerStreamKiB <= target.memoryPerStreamKiB,
    openRate: g.openPerSecond >= c.openPerSecond,
    delivered: g.missing === 0 && g.duplicates === 0 && g.bogus === 0 && g.opened === streams,
  };
  return { streams, checks, met: Object.values(checks).every(Boolean) };
});
const largest = verdicts.at(-1);
const report = {
  measuredAt: new Date().toISOString(),
  machine: machineInfo(),
  versions: { ...versions(), centrifugo: centrifugoVersion },
  loadAverageAtStart: loadAtStart,
  settings: { counts, rounds: roundsPerCount, messages, warmupMessages, gapMs, openConcurrency, clientProcesses, payloadBytes },
  target: { ...target, note: 'at the largest count: p99 below both the target and Centrifugo’s, open rate ≥ Centrifugo’s, all delivered' },
  runs,
  verdicts,
  met: largest?.met ?? false,
};

const row = (name: string, f: Figure) =>
  `| ${f.streams.toLocaleString('en')} | ${name} | ${f.openPerSecond.toLocaleString('en')}/s | ${f.memoryPerStreamKiB} KiB${f.heapPerStreamKiB === null ? '' : ` (heap ${f.heapPerStreamKiB})`} | ${f.delay.p50Ms} ms | ${f.delay.p99Ms} ms | ${f.delay.maxMs} ms | ${f.missing === 0 && f.duplicates === 0 ? 'all' : `${f.received}/${f.expected} (${f.duplicates} dup)`} | ${f.openCpuPercentOfOneCore}% · ${f.deliveryCpuPercentOfOneCore}% | ${f.clientsCpuPercentOfOneCore}% · ${f.clientsEventLoopDelayP99Ms} ms | ${f.rssIdleMiB} → ${f.rssOpenMiB} MiB |`;
const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
const spread = (f: Figure) =>
  `${median(f.firstReceiptMsPerMessage)} → ${median(f.lastReceiptMsPerMessage)} ms, slowest ${Math.max(...f.lastReceiptMsPerMessage)} ms`;
const m = report.machine;
const md = [
  '# Gateway SSE side by side with Centrifugo',
  '',
  `Measured ${report.measuredAt} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform}; ${centrifugoVersion}.`,
  `Each figure: N streams on one channel held by ${clientProcesses} load-generator processes (opened ${openConcurrency} at a time in all),`,
  `then ${messages} messages (${payloadBytes} bytes of padding each) published ${gapMs} ms apart, after ${warmupMessages} not measured; each server alone, started fresh.`,
  `${roundsPerCount} rounds per count, the servers taking turns in each; the first table gives each server's median over the rounds (deliveries added up), the second every round.`,
  'Gateway: `GET /v1/stream?channels=availability` with one API key, published to the CLIENT stream. Centrifugo: `uni_sse` with a JWT',
  '`channels` claim, memory engine, published through its HTTP API. Context: bare Hono on @hono/node-server, no middleware, fed by core NATS.',
  'Floor: raw `node:net`, fixed bytes answered and written with one system call per stream, fed by core NATS (what one Node thread and the kernel allow).',
  'CPU in % of one core (the gateway, bare Hono and raw use one; Centrifugo may use both).',
  '',
  `Load average when the run started (other work on the machine skews every figure): ${loadAtStart.map((l) => round(l, 1)).join(' / ')}.`,
  '',
  '| streams | server | open rate | RSS per stream | p50 | p99 | max | delivered | server CPU opening · delivering | load generators: CPU · loop delay p99 | RSS idle → open |',
  '|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|',
  ...runs.flatMap((r) => [
    row('gateway', r.gateway),
    row('Centrifugo', r.centrifugo),
    ...(r.bareHono ? [row('context: bare Hono', r.bareHono)] : []),
    ...(r.raw ? [row('floor: raw node:net', r.raw)] : []),
  ]),
  '',
  '| streams | round | open rate: gateway · Centrifugo · bare Hono · raw | p99: gateway · Centrifugo · bare Hono · raw |',
  '|---:|---:|---|---|',
  ...runs.flatMap((r) =>
    r.rounds.map((turn, i) => {
      const figures = [turn.gateway, turn.centrifugo, ...(turn.bareHono ? [turn.bareHono] : []), ...(turn.raw ? [turn.raw] : [])];
      const rates = figures.map((f) => `${f.openPerSecond.toLocaleString('en')}/s`).join(' · ');
      return `| ${r.streams.toLocaleString('en')} | ${i + 1} | ${rates} | ${figures.map((f) => `${f.delay.p99Ms} ms`).join(' · ')} |`;
    }),
  ),
  '',
  ...runs.flatMap((r) =>
    (onlyGateway ? [r.gateway] : [r.gateway, r.centrifugo, ...(r.bareHono ? [r.bareHono] : []), ...(r.raw ? [r.raw] : [])]).map(
      (f, i) =>
        `- ${['gateway', 'Centrifugo', 'bare Hono', 'raw'][i]} at ${f.streams.toLocaleString('en')}, a message's first → last receipt (median of the ${messages} of every round, and the slowest): ${spread(f)}`,
    ),
  ),
  ...runs.flatMap((r) =>
    r.bareHono
      ? [
          `- Open rate at ${r.streams.toLocaleString('en')} as a share of bare Hono's: gateway ${round(r.gateway.openPerSecond / r.bareHono.openPerSecond, 2)}, Centrifugo ${round(r.centrifugo.openPerSecond / r.bareHono.openPerSecond, 2)}`,
        ]
      : [],
  ),
  ...runs.flatMap((r) => {
    const raw = r.raw;
    if (!raw) return [];
    const share = (f: Figure) => `${round(f.openPerSecond / raw.openPerSecond, 2)} · ${round(f.delay.p99Ms / raw.delay.p99Ms, 2)}`;
    return [
      `- At ${r.streams.toLocaleString('en')}, open rate · p99 as multiples of the raw floor's: gateway ${share(r.gateway)}, Centrifugo ${share(r.centrifugo)}${r.bareHono ? `, bare Hono ${share(r.bareHono)}` : ''}`,
    ];
  }),
  '',
  ...verdicts.map(
    (v) =>
      `- ${v.streams.toLocaleString('en')} streams: ${v.met ? 'MET' : 'NOT MET'} — ${Object.entries(v.checks)
        .map(([k, ok]) => `${k} ${ok ? 'yes' : 'no'}`)
        .join(', ')}`,
  ),
  '',
  `Targets at the largest count: p99 < ${target.p99Ms} ms and below Centrifugo's, ≤ ${target.memoryPerStreamKiB} KiB per stream, open rate ≥ Centrifugo's, every message delivered.`,
  '',
].join('\n');
if (!onlyGateway) writeResults('gateway-sse-vs-centrifugo', report, md);
console.log(md);
