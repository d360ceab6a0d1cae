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
 * Env: BENCH_SECONDS (default 5) per figure, split into BENCH_ROUNDS (default 3) rounds in which
 * the peer and the gateway take turns, BENCH_WARMUP_SECONDS (default 1) of each load on each server
 * before the measured rounds, BENCH_LOG_LEVEL (default warn) for the children, BENCH_CHILD_NODE_ARGS
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
const cpuMicros = (before: Stats, after: Stats) => after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system;
/**
 * The peer and the gateway take turns (`rounds` each, alternating), so a change of the machine's
 * speed during the run, which moves the same code's figures by a fifth within minutes here,
 * meets both alike.
 */
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const roundSeconds = Math.max(1, Math.round(seconds / rounds));

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

  const bare = await startChild(servers.peer, childEnv(infra, 'bare'), { nodeArgs: childNodeArgs });
  children.push(bare);
  const bareUrl = `http://127.0.0.1:${bare.ready.port}/`;
  await expectEcho(bareUrl, {}, 'bare GET');
  await expectEcho(bareUrl, jsonPost(), 'bare POST', 'load');

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
    console.log(`warm-up: ${warmupSeconds} s of each load on each server ...`);
    await httpLoadChecked(bareUrl, { connections, seconds: warmupSeconds });
    await httpLoadChecked(bareUrl, { connections, seconds: warmupSeconds, ...jsonPost() });
    await httpLoadChecked(url, { connections, seconds: warmupSeconds, headers });
    await httpLoadChecked(url, { connections, seconds: warmupSeconds, ...jsonPost(headers) });
  }
  console.log(`GET, then POST: ${rounds} rounds of ${roundSeconds} s on the peer, then on the gateway ...`);
  const get = await alternate(
    { child: bare, load: { connections, seconds: roundSeconds }, url: bareUrl },
    { child: gw, load: { connections, seconds: roundSeconds, headers }, url },
    echo,
  );
  const posts = await alternate(
    { child: bare, load: { connections, seconds: roundSeconds, ...jsonPost() }, url: bareUrl },
    { child: gw, load: { connections, seconds: roundSeconds, ...jsonPost(headers) }, url },
    echo,
  );
  const [honoNats, gateway, honoNatsPost, gatewayPost] = [get.peer, get.gateway, posts.peer, posts.gateway];
  const cpuPerRequest = {
    bareGet: round(get.peerCpu / honoNats.requests, 1),
    gatewayGet: round(get.gatewayCpu / gateway.requests, 1),
    barePost: round(posts.peerCpu / honoNatsPost.requests, 1),
    gatewayPost: round(posts.gatewayCpu / gatewayPost.requests, 1),
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
    rounds,
    warmupSeconds,
    connections,
    machine: machineInfo(),
    versions: versions(),
    layout: 'autocannon in the benchmark process; gateway and echo service in one child process each; nats-server and FerretDB local',
    baseline: { honoHello: hono, natsRequestReply: nats },
    peer: { bareHonoNatsEcho: honoNats, bareHonoNatsEchoPost: honoNatsPost },
    measured: { gatewayEcho: gateway, gatewayEchoPost: gatewayPost },
    cpuPercentDuringLoad: {
      gatewayProcess: get.during.gateway,
      echoServiceProcess: get.during.echo,
      loadGeneratorProcess: get.during.loadGenerator,
      machineBusyPercentOfAllCores: get.during.machineBusy,
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
    `(in ${rounds} rounds of ${roundSeconds} s, peer and gateway taking turns; after ${warmupSeconds} s of warm-up each). Layout: ${report.layout}.`,
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
    `CPU during the gateway's GET rounds (% of one core): gateway ${cpu.gatewayProcess}, echo service ${cpu.echoServiceProcess}, autocannon ${cpu.loadGeneratorProcess};`,
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

interface Server {
  child: BenchChild;
  url: string;
  load: Parameters<typeof httpLoadChecked>[1];
}

/**
 * The same load on the peer and on the gateway in alternating rounds: each one's rate over all
 * its rounds, the CPU time (µs) its process spent in them, and, for the gateway's rounds, the
 * CPU of each process (% of one core) and how busy the machine was.
 */
async function alternate(peer: Server, gateway: Server, echo: BenchChild) {
  const peerRates: CheckedRate[] = [];
  const gatewayRates: CheckedRate[] = [];
  let [peerCpu, gatewayCpu, echoCpu, selfCpu, gatewayMs, busy] = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < rounds; i++) {
    const peerBefore = await peer.child.ask<Stats>('stats');
    peerRates.push(await httpLoadChecked(peer.url, peer.load));
    peerCpu += cpuMicros(peerBefore, await peer.child.ask<Stats>('stats'));

    const [gwBefore, echoBefore] = await Promise.all([gateway.child.ask<Stats>('stats'), echo.ask<Stats>('stats')]);
    const [machineBefore, selfBefore, started] = [cpuTimes(), process.cpuUsage(), performance.now()];
    gatewayRates.push(await httpLoadChecked(gateway.url, gateway.load));
    gatewayMs += performance.now() - started;
    busy += machineBusySince(machineBefore);
    const self = process.cpuUsage(selfBefore);
    selfCpu += self.user + self.system;
    const [gwAfter, echoAfter] = await Promise.all([gateway.child.ask<Stats>('stats'), echo.ask<Stats>('stats')]);
    gatewayCpu += cpuMicros(gwBefore, gwAfter);
    echoCpu += cpuMicros(echoBefore, echoAfter);
  }
  const percent = (micros: number) => round((micros / 1000 / gatewayMs) * 100, 0);
  return {
    peer: combined(peerRates),
    gateway: combined(gatewayRates),
    peerCpu,
    gatewayCpu,
    during: { gateway: percent(gatewayCpu), echo: percent(echoCpu), loadGenerator: percent(selfCpu), machineBusy: round(busy / rounds, 0) },
  };
}

/** Rounds of equal length as one run: counts added, the rate averaged, p50 the rounds' mean and p99 the highest. */
function combined(rates: CheckedRate[]): CheckedRate {
  const sum = (pick: (r: CheckedRate) => number) => rates.reduce((total, r) => total + pick(r), 0);
  const statusCodes: Record<string, number> = {};
  for (const r of rates) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  return {
    perSecond: round(sum((r) => r.perSecond) / rates.length),
    p50Ms: round(sum((r) => r.p50Ms) / rates.length),
    p99Ms: Math.max(...rates.map((r) => r.p99Ms)),
    requests: sum((r) => r.requests),
    ok2xx: sum((r) => r.ok2xx),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    statusCodes,
  };
}
