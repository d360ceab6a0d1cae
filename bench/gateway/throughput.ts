/**
 * Gateway throughput against this machine's ceiling, both measured in this run.
 *
 * Baseline: bare Hono "hello" (`honoHello`: its own process, autocannon with 50 connections) and,
 * for context, bare NATS request-reply. Measured: `GET /v1/bench/echo` on the real gateway — every
 * gateway middleware (request context, CORS, body limit, API-key authentication, rate limit),
 * then one RPC through the gateway's bridge to a trivial service and back. Process layout: the
 * gateway and the echo service each run in their own child process; nats-server and FerretDB
 * are the run's own servers; autocannon runs in this process. All share the machine's cores,
 * as the baseline's hello server and autocannon do.
 *
 * Env: BENCH_SECONDS (default 5) per figure, BENCH_WARMUP_SECONDS (default 1) of gateway load
 * before its measured run, BENCH_LOG_LEVEL (default warn) for the children, BENCH_CHILD_NODE_ARGS
 * (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) for the gateway's and the bare Hono+NATS server's Node processes.
 * Writes bench/results/gateway-throughput.{json,md}.
 */
import path from 'node:path';
import { startInfra } from '@allot/local-servers';
import { cpuTimes, machineBusySince } from '../lib/cpu';
import { httpLoadChecked } from '../lib/load';
import { honoHello, machineInfo, natsRequestReply } from '../lib/measure';
import { childEnv, createTenant, here, newRootKey, round, startGatewayChild, versions, writeResults } from './common';
import { type BenchChild, startChild } from './ipc';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const connections = 50;
/** Gateway ÷ bare Hono → NATS → echo: the gateway's own code may cost at most a fifth of that path. */
const target = 0.8;
const childNodeArgs = process.env.BENCH_CHILD_NODE_ARGS?.split(' ').filter(Boolean);

interface Stats {
  cpu: NodeJS.CpuUsage;
  memory: NodeJS.MemoryUsage;
}
const cpuPercent = (before: Stats, after: Stats, ms: number) =>
  round(((after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system) / 1000 / ms) * 100, 0);

const infra = await startInfra();
const children: BenchChild[] = [];
try {
  console.log(`baseline: Hono hello, ${seconds} s ...`);
  const honoCpu = cpuTimes();
  const hono = await honoHello(seconds);
  const machineBusyHono = machineBusySince(honoCpu);
  console.log(`baseline: NATS request-reply, ${seconds} s ...`);
  const nats = await natsRequestReply(infra.natsUrl, seconds);

  const echo = await startChild(path.join(here, 'echo-service.ts'), childEnv(infra, 'capacity'));
  children.push(echo);

  console.log(`context: bare Hono + NATS request to the echo service, ${seconds} s ...`);
  const bare = await startChild(path.join(here, 'hono-nats-server.ts'), childEnv(infra, 'bare'), { nodeArgs: childNodeArgs });
  children.push(bare);
  const bareUrl = `http://127.0.0.1:${bare.ready.port}/`;
  const bareProbe = await fetch(bareUrl);
  const bareProbeBody = await bareProbe.text();
  if (bareProbe.status !== 200 || !bareProbeBody.includes('"service":"bench"'))
    throw new Error(`bare probe answered ${bareProbe.status} ${bareProbeBody}`);
  if (warmupSeconds > 0) await httpLoadChecked(bareUrl, { connections, seconds: warmupSeconds });
  const honoNats = await httpLoadChecked(bareUrl, { connections, seconds });
  await bare.stop();
  const rootKey = newRootKey();
  const gw = await startGatewayChild(infra, rootKey, { readyServices: '', nodeArgs: childNodeArgs });
  children.push(gw);
  const base = `http://127.0.0.1:${gw.ready.port}`;
  const { key } = await createTenant(base, rootKey);
  const headers = { authorization: `Bearer ${key}` };
  const url = `${base}/v1/bench/echo`;

  // The probe must really go through authentication and the RPC, or the figure means nothing.
  const anonymous = await fetch(url);
  await anonymous.body?.cancel();
  if (anonymous.status !== 401) throw new Error(`probe without a key answered ${anonymous.status}, expected 401`);
  const probe = await fetch(url, { headers });
  const probeBody = await probe.text();
  if (probe.status !== 200 || !probeBody.includes('"service":"bench"')) throw new Error(`probe answered ${probe.status} ${probeBody}`);

  if (warmupSeconds > 0) {
    console.log(`gateway: warm-up ${warmupSeconds} s ...`);
    await httpLoadChecked(url, { connections, seconds: warmupSeconds, headers });
  }
  console.log(`gateway: GET /v1/bench/echo, ${seconds} s ...`);
  const [gwBefore, echoBefore] = await Promise.all([gw.ask<Stats>('stats'), echo.ask<Stats>('stats')]);
  const started = performance.now();
  const [machineBefore, selfBefore] = [cpuTimes(), process.cpuUsage()];
  const gateway = await httpLoadChecked(url, { connections, seconds, headers });
  const elapsedMs = performance.now() - started;
  const machineBusyGateway = machineBusySince(machineBefore);
  const self = process.cpuUsage(selfBefore);
  const loadGeneratorCpu = round(((self.user + self.system) / 1000 / elapsedMs) * 100, 0);
  const [gwAfter, echoAfter] = await Promise.all([gw.ask<Stats>('stats'), echo.ask<Stats>('stats')]);

  const ratio = round(gateway.perSecond / hono.perSecond, 3);
  const toBarePath = round(gateway.perSecond / honoNats.perSecond, 3);
  const clean = gateway.non2xx === 0 && gateway.errors === 0 && gateway.timeouts === 0;
  const met = clean && toBarePath >= target;
  const verdict = `${met ? 'MET' : 'NOT MET'}: gateway ${gateway.perSecond} req/s = ${toBarePath} × bare Hono → NATS (${honoNats.perSecond} req/s); target ≥ ${target}${
    clean ? '' : `; ${gateway.non2xx} non-2xx, ${gateway.errors} errors, ${gateway.timeouts} timeouts`
  }`;
  const report = {
    measuredAt: new Date().toISOString(),
    seconds,
    warmupSeconds,
    connections,
    machine: machineInfo(),
    versions: versions(),
    layout: 'autocannon in the benchmark process; gateway and echo service in one child process each; nats-server and FerretDB local',
    baseline: { honoHello: hono, natsRequestReply: nats },
    context: { bareHonoNatsEcho: honoNats },
    measured: { gatewayEcho: gateway },
    cpuPercentDuringLoad: {
      gatewayProcess: cpuPercent(gwBefore, gwAfter, elapsedMs),
      echoServiceProcess: cpuPercent(echoBefore, echoAfter, elapsedMs),
      loadGeneratorProcess: loadGeneratorCpu,
      machineBusyPercentOfAllCores: machineBusyGateway,
      machineBusyPercentOfAllCoresDuringHonoBaseline: machineBusyHono,
    },
    ratio: {
      gatewayToHono: ratio,
      bareHonoNatsEchoToHono: round(honoNats.perSecond / hono.perSecond, 3),
      gatewayToBareHonoNatsEcho: toBarePath,
    },
    target: { gatewayToBareHonoNatsEcho: target },
    met,
    verdict,
  };
  const m = report.machine;
  const v = report.versions;
  const cpu = report.cpuPercentDuringLoad;
  const md = [
    '# Gateway throughput',
    '',
    `Measured ${report.measuredAt} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform};`,
    `nats-server ${v.NATS_SERVER_VERSION}, FerretDB ${v.FERRETDB_VERSION} (SQLite). ${seconds} s per figure, autocannon with ${connections} connections`,
    `(gateway after a ${warmupSeconds} s warm-up). Layout: ${report.layout}.`,
    '',
    "`GET /v1/bench/echo`: a probe route added with `startGateway(..., { extend })` behind `requireCredential('apiKey')`,",
    'so each request passes every gateway middleware (API-key auth, rate limit, ...) and makes one RPC through',
    '`deps.callService` to a trivial `capacity.bench-echo` service in another process.',
    '',
    '| what | req/s | p50 ms | p99 ms | ratio to Hono |',
    '|---|---:|---:|---:|---:|',
    `| baseline: bare Hono "hello" (autocannon, ${connections} connections) | ${hono.perSecond} | ${hono.p50Ms} | ${hono.p99Ms} | 1 |`,
    `| context: bare NATS request-reply (32 in flight) | ${nats.perSecond} | ${nats.p50Ms} | ${nats.p99Ms} | — |`,
    `| context: bare Hono route → bare NATS request → same echo service (no gateway code) | ${honoNats.perSecond} | ${honoNats.p50Ms} | ${honoNats.p99Ms} | ${report.ratio.bareHonoNatsEchoToHono} |`,
    `| gateway \`GET /v1/bench/echo\` with API key (autocannon, ${connections} connections) | ${gateway.perSecond} | ${gateway.p50Ms} | ${gateway.p99Ms} | **${ratio}** |`,
    '',
    `Gateway ÷ bare Hono+NATS path: **${toBarePath}** (what the gateway's own code costs on top of one HTTP request and one RPC).`,
    `Gateway run: ${gateway.requests} requests, ${gateway.ok2xx} 2xx, ${gateway.non2xx} non-2xx, ${gateway.errors} errors, ${gateway.timeouts} timeouts.`,
    `CPU during the measured run (% of one core): gateway ${cpu.gatewayProcess}, echo service ${cpu.echoServiceProcess}, autocannon ${cpu.loadGeneratorProcess};`,
    `whole machine ${cpu.machineBusyPercentOfAllCores}% busy (all ${m.cores} cores; ${cpu.machineBusyPercentOfAllCoresDuringHonoBaseline}% during the Hono baseline).`,
    '',
    `**Verdict — ${verdict}.**`,
    '',
  ].join('\n');
  writeResults('gateway-throughput', report, md);
  console.log(md);
} finally {
  await Promise.all(children.map((c) => c.stop()));
  await infra.stop();
}
