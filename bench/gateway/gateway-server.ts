/**
 * The real gateway (`startGateway`) in its own process for the gateway benchmarks, with two probe
 * routes added through `extend`, registered like every built-in route that is one RPC
 * (`registerRpcRoutes`: OpenAPI validation, credential check, RPC bridge): `GET /v1/bench/echo`
 * and `POST /v1/bench/echo` (a JSON body, validated, with the `Idempotency-Key` handling of a
 * creating POST) call the trivial RPC `capacity.bench-echo` with a tenant API key. Reports its port over IPC and
 * answers `stats` with its own memory (after a full GC when run with --expose-gc), CPU time,
 * event-loop delay since the previous `stats` and the number of SSE streams registered.
 * Env: the gateway's (NATS_URL, MONGO_URL, MONGO_DB, ROOT_API_KEY, RATE_LIMIT_*, ...).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { registerRpcRoutes, rpcRoute, startGateway } from '@allot/gateway';
import { tuneV8 } from '@allot/kit';
import { BENCH_ECHO, benchEcho } from './contract';
import { serveParent } from './ipc';

const payload = { service: 'bench', instance: String(process.pid) };

const probe = {
  path: '/v1/bench/echo',
  tag: 'Sessions',
  description: 'Benchmark probe: answers what the echo service answers.',
  credentials: ['apiKey'],
  service: 'capacity',
  operation: BENCH_ECHO,
  contract: benchEcho,
} as const;
tuneV8(); // as the gateway's own process (`runService`) runs
const gateway = await startGateway(process.env, {
  extend(app, deps) {
    registerRpcRoutes(app, deps, [
      rpcRoute({
        ...probe,
        credentials: [...probe.credentials],
        method: 'get',
        operationId: 'benchEchoGet',
        summary: 'Echo (GET)',
        input: () => payload,
      }),
      rpcRoute({
        ...probe,
        credentials: [...probe.credentials],
        method: 'post',
        operationId: 'benchEchoPost',
        summary: 'Echo (POST)',
        body: benchEcho.input,
        idempotent: true,
        input: ({ body }) => body,
      }),
    ]);
  },
});

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const gc = (globalThis as { gc?: () => void }).gc;

serveParent(
  { port: gateway.port, pid: process.pid, gcExposed: gc !== undefined },
  {
    stats() {
      // Loop delay first (the forced GC below would count in it), then memory after a full GC.
      const eventLoopDelayMs = { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
      const cpu = process.cpuUsage();
      gc?.();
      gc?.();
      const stats = { memory: process.memoryUsage(), cpu, streams: gateway.deps.fanout.size, eventLoopDelayMs };
      loopDelay.reset();
      return stats;
    },
  },
  () => gateway.stop(),
);
