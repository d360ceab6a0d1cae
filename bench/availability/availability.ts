/**
 * The availability read path and its live updates, against this machine's limits measured in
 * this run (the availability routes of docs/api.md; how benchmarks report, bench/README.md).
 *
 * Baseline: bare Hono "hello" (`honoHello`: its own process, autocannon, 50 connections).
 * Stack: the real capacity and availability services and the real gateway, each in its own
 * child process, on the run's own nats-server and FerretDB.
 *
 * 1. Throughput: `GET /v1/availability?date&sessionId` with a tenant API key (autocannon, 50
 *    connections): every gateway middleware, one RPC to availability, answered from its cache.
 *    Target ≥ 0.30 × bare Hono. For context, the same with `If-None-Match` (304s).
 * 2. Freshness: FRESH_STREAMS SSE clients on `availability.session.<id>`; FRESH_BOOKINGS bookings
 *    of one slot each, one at a time, FRESH_GAP_MS apart. Delay = receipt of the
 *    `availability.updated` showing that booking's `bookedSlots` at a client − the booking's 201
 *    at the booker (one process, one clock). Target p99 < 100 ms over every client, 0 missed.
 *
 * Env: BENCH_SECONDS (5), BENCH_WARMUP_SECONDS (1), FRESH_STREAMS (1000), FRESH_BOOKINGS (30),
 * FRESH_GAP_MS (200), BENCH_LOG_LEVEL (warn), BENCH_GATEWAY_NODE_ARGS (extra Node flags for the
 * gateway, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). Writes bench/results/availability.{json,md}.
 */
import http from 'node:http';
import path from 'node:path';
import { startInfra } from '@allot/local-servers';
import { childEnv, createTenant, newRootKey, round, sleep, startGatewayChild, versions, writeResults } from '../gateway/common';
import { type BenchChild, startChild } from '../gateway/ipc';
import { cpuTimes, machineBusySince } from '../lib/cpu';
import { httpLoadChecked } from '../lib/load';
import { honoHello, machineInfo, summarize } from '../lib/measure';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const streams = Number(process.env.FRESH_STREAMS ?? 1000);
const bookings = Number(process.env.FRESH_BOOKINGS ?? 30);
const gapMs = Number(process.env.FRESH_GAP_MS ?? 200);
const connections = 50;
const targets = { throughputToHono: 0.3, freshnessP99Ms: 100 };
const here = path.dirname(new URL(import.meta.url).pathname);
const date = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

/** An SSE client that notes when it first saw each `bookedSlots` figure. */
function listen(port: number, key: string, sessionId: string, seenAt: Map<number, number>[]): Promise<http.ClientRequest> {
  const seen = new Map<number, number>();
  seenAt.push(seen);
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path: `/v1/stream?channels=availability.session.${sessionId}`,
        agent: false,
        headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
      },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          const at = performance.now();
          buffer += chunk;
          const frames = buffer.split('\n\n');
          buffer = frames.pop() ?? '';
          for (const data of frames.flatMap((f) => f.split('\n').filter((l) => l.startsWith('data: ')))) {
            const booked = (JSON.parse(data.slice(6)) as { bookedSlots: number }).bookedSlots;
            if (!seen.has(booked)) seen.set(booked, at);
          }
        });
        resolve(req);
      },
    );
    req.on('error', reject);
  });
}

async function call(base: string, key: string, method: string, url: string, body?: unknown) {
  const res = await fetch(base + url, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

const infra = await startInfra();
const children: BenchChild[] = [];
const sockets: http.ClientRequest[] = [];
try {
  console.log(`baseline: Hono hello, ${seconds} s ...`);
  const honoCpu = cpuTimes();
  const hono = await honoHello(seconds);
  const machineBusyHono = machineBusySince(honoCpu);

  const service = (name: string) =>
    startChild(path.join(here, 'service-server.ts'), childEnv(infra, name, { BENCH_SERVICE: name }), { nodeArgs: [] });
  children.push(await service('capacity'), await service('availability'));
  const rootKey = newRootKey();
  const gateway = await startGatewayChild(infra, rootKey, {
    readyServices: 'capacity,availability',
    // One API key opens every stream: the per-credential and per-tenant limits are out of the way.
    env: { SSE_MAX_STREAMS_PER_CREDENTIAL: String(streams + 10), SSE_MAX_STREAMS_PER_TENANT: String(streams + 10) },
    nodeArgs: process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean),
  });
  children.push(gateway);
  const port = Number(gateway.ready.port);
  const base = `http://127.0.0.1:${port}`;
  const { key } = await createTenant(base, rootKey);
  const session = (await call(base, key, 'POST', '/v1/sessions', { name: 'Bench', maxCapacity: 1_000_000 })).body;
  const url = `/v1/availability?date=${date}&sessionId=${session.id}`;
  const book = () => call(base, key, 'POST', '/v1/bookings', { sessionId: session.id, date, adults: 1 });

  // 1. Throughput of the read path (checked first: the answer must be the real figures).
  if ((await book()).status !== 201) throw new Error('booking failed');
  for (let i = 0; i < 100 && (await call(base, key, 'GET', url)).body.bookedSlots !== 1; i++) await sleep(50);
  const probe = await call(base, key, 'GET', url);
  if (probe.status !== 200 || probe.body.bookedSlots !== 1) throw new Error(`probe answered ${probe.status} ${JSON.stringify(probe.body)}`);
  const headers = { authorization: `Bearer ${key}` };
  if (warmupSeconds > 0) await httpLoadChecked(base + url, { connections, seconds: warmupSeconds, headers });
  console.log(`GET ${url}, ${seconds} s ...`);
  const readCpu = cpuTimes();
  const read = await httpLoadChecked(base + url, { connections, seconds, headers });
  const machineBusyRead = machineBusySince(readCpu);
  const etag = probe.headers.get('etag') ?? '';
  const notModified = await httpLoadChecked(base + url, { connections, seconds, headers: { ...headers, 'if-none-match': etag } });
  const throughputRatio = round(read.perSecond / hono.perSecond, 3);

  // 2. Freshness at every client.
  console.log(`opening ${streams} SSE streams ...`);
  const seenAt: Map<number, number>[] = [];
  for (let i = 0; i < streams; i += 100) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, streams - i) }, () => listen(port, key, session.id, seenAt)))));
  }
  await sleep(1000); // every stream registered with the fan-out
  const createdAt = new Map<number, number>();
  for (let k = 0; k < bookings; k++) {
    const res = await book();
    const at = performance.now();
    if (res.status !== 201) throw new Error(`booking answered ${res.status}`);
    createdAt.set(k + 2, at); // the probe booked the first slot
    await sleep(gapMs);
  }
  await sleep(2000);
  const delays: number[] = [];
  let missed = 0;
  for (const seen of seenAt) {
    for (const [booked, at] of createdAt) {
      const receipt = seen.get(booked);
      if (receipt === undefined) missed++;
      else delays.push(Math.max(0, receipt - at));
    }
  }
  const fresh = summarize(delays, 1);
  const maxDelay = round(Math.max(...delays));

  const met = {
    throughput: throughputRatio >= targets.throughputToHono && read.non2xx === 0 && read.errors === 0,
    freshness: fresh.p99Ms < targets.freshnessP99Ms && missed === 0,
  };
  const report = {
    measuredAt: new Date().toISOString(),
    machine: machineInfo(),
    versions: versions(),
    settings: { seconds, warmupSeconds, connections, streams, bookings, gapMs },
    layout: 'capacity, availability and gateway in a child process each; autocannon, SSE clients and the booker in this process',
    baseline: { honoHello: hono, machineBusyPercent: machineBusyHono },
    throughput: { read, machineBusyPercent: machineBusyRead, ratioToHono: throughputRatio, notModified },
    freshness: { deliveries: delays.length, missed, p50Ms: fresh.p50Ms, p99Ms: fresh.p99Ms, maxMs: maxDelay },
    targets,
    met,
  };
  const m = report.machine;
  const v = report.versions;
  const verdict = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
  const md = [
    '# Availability: read throughput and live freshness',
    '',
    `Measured ${report.measuredAt} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform};`,
    `nats-server ${v.NATS_SERVER_VERSION}, FerretDB ${v.FERRETDB_VERSION} (SQLite). Layout: ${report.layout}.`,
    `${seconds} s per figure, autocannon with ${connections} connections (after a ${warmupSeconds} s warm-up).`,
    '',
    '| what | req/s | p50 ms | p99 ms | ratio to Hono |',
    '|---|---:|---:|---:|---:|',
    `| baseline: bare Hono "hello" | ${hono.perSecond} | ${hono.p50Ms} | ${hono.p99Ms} | 1 |`,
    `| \`GET /v1/availability?date&sessionId\` with API key (200) | ${read.perSecond} | ${read.p50Ms} | ${read.p99Ms} | **${throughputRatio}** |`,
    `| the same with \`If-None-Match\` (304) | ${notModified.perSecond} | ${notModified.p50Ms} | ${notModified.p99Ms} | ${round(notModified.perSecond / hono.perSecond, 3)} |`,
    '',
    `Read run: ${read.requests} requests, ${read.ok2xx} 2xx, ${read.non2xx} non-2xx, ${read.errors} errors; machine ${machineBusyRead}% busy (${machineBusyHono}% during the baseline).`,
    '',
    `Freshness: ${streams} SSE clients on \`availability.session.<id>\`, ${bookings} one-slot bookings ${gapMs} ms apart;`,
    "delay from each booking's 201 to the client's receipt of the `availability.updated` showing it.",
    '',
    '| deliveries | missed | p50 ms | p99 ms | max ms |',
    '|---:|---:|---:|---:|---:|',
    `| ${delays.length} | ${missed} | ${fresh.p50Ms} | **${fresh.p99Ms}** | ${maxDelay} |`,
    '',
    `**Verdict — throughput ${verdict(met.throughput)}: ${throughputRatio} × bare Hono (target ≥ ${targets.throughputToHono}); freshness ${verdict(met.freshness)}: p99 ${fresh.p99Ms} ms, ${missed} missed (target p99 < ${targets.freshnessP99Ms} ms, 0 missed).**`,
    '',
  ].join('\n');
  writeResults('availability', report, md);
  console.log(md);
} finally {
  for (const socket of sockets) socket.destroy();
  for (const child of children.reverse()) await child.stop();
  await infra.stop();
}
