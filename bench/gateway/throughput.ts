/**
 * Gateway throughput against its peer, both measured in this run: what the gateway's own code
 * costs on top of one HTTP request and one RPC.
 *
 * Peer: a bare Hono app (`hono-nats-server.ts`) doing the same NATS request-reply to the same echo
 * service, `GET` (fixed input) and `POST` (JSON body). Measured: `GET` and `POST /v1/bench/echo`
 * on the real gateway — every gateway middleware (request context, CORS, body limit, API-key
 * authentication, rate limit), the route's OpenAPI validation and idempotency check, then one RPC
 * through the gateway's bridge to the same service and back. Context: bare Hono "hello" and bare
 * NATS request-reply (this machine's raw limits). Process layout: the
 * gateway and the echo service each run in their own child process; nats-server and FerretDB
 * are the run's own servers; autocannon runs in this process. All share the machine's cores,
 * as the baseline's hello server and autocannon do.
 *
 * Env: BENCH_SECONDS (default 5) per figure, BENCH_WARMUP_SECONDS (default 1) of gateway load
 * before its measured run, BENCH_LOG_LEVEL (default warn) for the children, BENCH_CHILD_NODE_ARGS
 * (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) for the gateway's and the bare Hono+NATS server's Node processes.
 * Writes bench/results/gateway-throughput.{json,md}.
 */
import { startInfra } from '@allot/local-servers';
import { cpuTimes, machineBusySince } from '../lib/cpu';
import { type CheckedRate, httpLoadChecked } from '../lib/load';
import { honoHello, machineInfo, natsRequestReply } from '../lib/measure';
import { childEnv, compiled, createTenant, newRootKey, round, startGatewayChild, versions, writeResults } from './common';
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

// Each server compiled and run by plain Node, as its image runs it (see `compiled`).
const servers = { echo: compiled('echo-service.ts'), peer: compiled('hono-nats-server.ts'), gateway: compiled('gateway-server.ts') };
const infra = await startInfra();
const children: BenchChild[] = [];
try {
  console.log(`baseline: Hono hello, ${seconds} s ...`);
  const honoCpu = cpuTimes();
  const hono = await honoHello(seconds);
  const machineBusyHono = machineBusySince(honoCpu);
  console.log(`baseline: NATS request-reply, ${seconds} s ...`);
  const nats = await natsRequestReply(infra.natsUrl, seconds);

  const echo = await startChild(servers.echo, childEnv(infra, 'capacity'));
  children.push(echo);

  // The same echo RPC both ways, each a GET (fixed input) and a POST (a JSON body passed on).
  const body = JSON.stringify({ service: 'bench', instance: 'load' });
  const post = { method: 'POST' as const, body };
  const jsonPost = (headers: Record<string, string> = {}) => ({ ...post, headers: { ...headers, 'content-type': 'application/json' } });

  console.log(`peer: bare Hono + NATS request to the echo service, GET and POST, ${seconds} s each ...`);
  const bare = await startChild(servers.peer, childEnv(infra, 'bare'), { nodeArgs: childNodeArgs });
  children.push(bare);
  const bareUrl = `http://127.0.0.1:${bare.ready.port}/`;
  await expectEcho(bareUrl, {}, 'bare GET');
  await expectEcho(bareUrl, jsonPost(), 'bare POST', 'load');
  if (warmupSeconds > 0) await httpLoadChecked(bareUrl, { connections, seconds: warmupSeconds });
  const [honoNats, bareGetCpu] = await withCpu(bare, () => httpLoadChecked(bareUrl, { connections, seconds }));
  const [honoNatsPost, barePostCpu] = await withCpu(bare, () => httpLoadChecked(bareUrl, { connections, seconds, ...jsonPost() }));
  await bare.stop();

  const rootKey = newRootKey();
  const gw = await startGatewayChild(infra, rootKey, { entry: servers.gateway, readyServices: '', nodeArgs: childNodeArgs });
  children.push(gw);
  const base = `http://127.0.0.1:${gw.ready.port}`;
  const { key } = await createTenant(base, rootKey);
  const headers = { authorization: `Bearer ${key}` };
  const url = `${base}/v1/bench/echo`;

  // The probes must really go through authentication, validation and the RPC, or the figures mean nothing.
  const anonymous = await fetch(url);
  await anonymous.body?.cancel();
  if (anonymous.status !== 401) throw new Error(`probe without a key answered ${anonymous.status}, expected 401`);
  const invalid = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{"service":1}' });
  await invalid.body?.cancel();
  if (invalid.status !== 400) throw new Error(`POST probe with an invalid body answered ${invalid.status}, expected 400`);
  await expectEcho(url, { headers }, 'gateway GET');
  await expectEcho(url, jsonPost(headers), 'gateway POST', 'load');

  if (warmupSeconds > 0) {
    console.log(`gateway: warm-up ${warmupSeconds} s ...`);
    await httpLoadChecked(url, { connections, seconds: warmupSeconds, headers });
    await httpLoadChecked(url, { connections, seconds: warmupSeconds, ...jsonPost(headers) });
  }
  console.log(`gateway: GET and POST /v1/bench/echo, ${seconds} s each ...`);
  const [gwBefore, echoBefore] = await Promise.all([gw.ask<Stats>('stats'), echo.ask<Stats>('stats')]);
  const started = performance.now();
  const [machineBefore, selfBefore] = [cpuTimes(), process.cpuUsage()];
  const gateway = await httpLoadChecked(url, { connections, seconds, headers });
  const elapsedMs = performance.now() - started;
  const machineBusyGateway = machineBusySince(machineBefore);
  const self = process.cpuUsage(selfBefore);
  const loadGeneratorCpu = round(((self.user + self.system) / 1000 / elapsedMs) * 100, 0);
  const [gwAfter, echoAfter] = await Promise.all([gw.ask<Stats>('stats'), echo.ask<Stats>('stats')]);
  const [gatewayPost, gatewayPostCpu] = await withCpu(gw, () => httpLoadChecked(url, { connections, seconds, ...jsonPost(headers) }));
  // CPU per answered request: what each process spends, whatever else the machine is doing.
  const gatewayGetCpu = round((gwAfter.cpu.user - gwBefore.cpu.user + gwAfter.cpu.system - gwBefore.cpu.system) / gateway.requests, 1);
  const cpuPerRequest = {
    bareGet: round(bareGetCpu / honoNats.requests, 1),
    gatewayGet: gatewayGetCpu,
    barePost: round(barePostCpu / honoNatsPost.requests, 1),
    gatewayPost: round(gatewayPostCpu / gatewayPost.requests, 1),
  };

  const ratio = round(gateway.perSecond / hono.perSecond, 3);
  const toBarePath = round(gateway.perSecond / honoNats.perSecond, 3);
  const toBarePathPost = round(gatewayPost.perSecond / honoNatsPost.perSecond, 3);
  const failures = (r: CheckedRate) => r.non2xx + r.errors + r.timeouts;
  const clean = failures(gateway) === 0 && failures(gatewayPost) === 0;
  const met = clean && toBarePath >= target && toBarePathPost >= target;
  const verdict = `${met ? 'MET' : 'NOT MET'}: gateway GET ${gateway.perSecond} req/s = ${toBarePath} × bare Hono → NATS (${honoNats.perSecond} req/s), POST ${gatewayPost.perSecond} req/s = ${toBarePathPost} × (${honoNatsPost.perSecond} req/s); target ≥ ${target} for both${
    clean
      ? ''
      : `; GET ${gateway.non2xx}/${gateway.errors}/${gateway.timeouts} and POST ${gatewayPost.non2xx}/${gatewayPost.errors}/${gatewayPost.timeouts} non-2xx/errors/timeouts`
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
    peer: { bareHonoNatsEcho: honoNats, bareHonoNatsEchoPost: honoNatsPost },
    measured: { gatewayEcho: gateway, gatewayEchoPost: gatewayPost },
    cpuPercentDuringLoad: {
      gatewayProcess: cpuPercent(gwBefore, gwAfter, elapsedMs),
      echoServiceProcess: cpuPercent(echoBefore, echoAfter, elapsedMs),
      loadGeneratorProcess: loadGeneratorCpu,
      machineBusyPercentOfAllCores: machineBusyGateway,
      machineBusyPercentOfAllCoresDuringHonoBaseline: machineBusyHono,
    },
    cpuMicrosecondsPerRequest: cpuPerRequest,
    ratio: {
      gatewayToHono: ratio,
      bareCpuToGatewayCpuGet: round(cpuPerRequest.bareGet / cpuPerRequest.gatewayGet, 3),
      bareCpuToGatewayCpuPost: round(cpuPerRequest.barePost / cpuPerRequest.gatewayPost, 3),
      bareHonoNatsEchoToHono: round(honoNats.perSecond / hono.perSecond, 3),
      gatewayToBareHonoNatsEcho: toBarePath,
      gatewayPostToBareHonoNatsEchoPost: toBarePathPost,
    },
    target: { gatewayToBareHonoNatsEcho: target, gatewayPostToBareHonoNatsEchoPost: target },
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
    '`GET` and `POST /v1/bench/echo`: probe routes added with `startGateway(..., { extend })` through `registerRpcRoutes`,',
    'as every built-in route that is one RPC: each request passes every gateway middleware (request context, CORS, body limit,',
    "API-key auth, rate limit), the OpenAPI validation (the POST's JSON body) and the `Idempotency-Key` check of a creating POST,",
    'and makes one RPC through `deps.callService` to a trivial `capacity.bench-echo` service in another process. The peer does',
    'the same HTTP → NATS request → echo → reply with bare Hono and a bare NATS client, in the same run.',
    '',
    '| what | req/s | p50 ms | p99 ms | CPU µs per request | ratio to the peer (req/s) |',
    '|---|---:|---:|---:|---:|---:|',
    `| context: bare Hono "hello" (autocannon, ${connections} connections) | ${hono.perSecond} | ${hono.p50Ms} | ${hono.p99Ms} | — | — |`,
    `| context: bare NATS request-reply (32 in flight) | ${nats.perSecond} | ${nats.p50Ms} | ${nats.p99Ms} | — | — |`,
    `| peer: bare Hono \`GET\` → NATS request → echo service | ${honoNats.perSecond} | ${honoNats.p50Ms} | ${honoNats.p99Ms} | ${cpuPerRequest.bareGet} | 1 |`,
    `| gateway \`GET /v1/bench/echo\` with API key | ${gateway.perSecond} | ${gateway.p50Ms} | ${gateway.p99Ms} | ${cpuPerRequest.gatewayGet} | **${toBarePath}** |`,
    `| peer: bare Hono \`POST\` (JSON body) → NATS request → echo service | ${honoNatsPost.perSecond} | ${honoNatsPost.p50Ms} | ${honoNatsPost.p99Ms} | ${cpuPerRequest.barePost} | 1 |`,
    `| gateway \`POST /v1/bench/echo\` with API key | ${gatewayPost.perSecond} | ${gatewayPost.p50Ms} | ${gatewayPost.p99Ms} | ${cpuPerRequest.gatewayPost} | **${toBarePathPost}** |`,
    '',
    `CPU per request, peer ÷ gateway (the same comparison by the server's own CPU, steadier when the machine is shared): GET ${report.ratio.bareCpuToGatewayCpuGet}, POST ${report.ratio.bareCpuToGatewayCpuPost}.`,
    '',
    `Gateway GET ÷ bare Hono "hello": ${ratio}. Gateway runs: GET ${gateway.requests} requests (${gateway.ok2xx} 2xx, ${gateway.non2xx} non-2xx, ${gateway.errors} errors, ${gateway.timeouts} timeouts), POST ${gatewayPost.requests} (${gatewayPost.ok2xx} 2xx, ${gatewayPost.non2xx} non-2xx, ${gatewayPost.errors} errors, ${gatewayPost.timeouts} timeouts).`,
    `CPU during the measured GET run (% of one core): gateway ${cpu.gatewayProcess}, echo service ${cpu.echoServiceProcess}, autocannon ${cpu.loadGeneratorProcess};`,
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

/** One request that must answer the echo of `instance` (`bench` for the GET's fixed input). */
async function expectEcho(url: string, init: RequestInit, what: string, instance?: string) {
  const res = await fetch(url, init);
  const text = await res.text();
  const ok = res.status === 200 && text.includes('"service":"bench"') && (!instance || text.includes(`"instance":"${instance}"`));
  if (!ok) throw new Error(`${what} probe answered ${res.status} ${text}`);
}

/** Runs `load` and measures the CPU time (µs) `child` spent meanwhile. */
async function withCpu<T>(child: BenchChild, load: () => Promise<T>): Promise<[T, number]> {
  const before = await child.ask<Stats>('stats');
  const result = await load();
  const after = await child.ask<Stats>('stats');
  return [result, after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system];
}
