/**
 * The real gateway (`startGateway`) in its own process for the gateway benchmarks, with one probe
 * route added through `extend`: `GET /v1/bench/echo` (tenant API key required) calls the trivial
 * RPC `capacity.bench-echo` through the gateway's RPC bridge. Reports its port over IPC and
 * answers `stats` with its own memory (after a full GC when run with --expose-gc), CPU time,
 * event-loop delay since the previous `stats` and the number of SSE streams registered.
 * Env: the gateway's (NATS_URL, MONGO_URL, MONGO_DB, ROOT_API_KEY, RATE_LIMIT_*, ...).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { requireCredential, startGateway } from '@allot/gateway';
import { BENCH_ECHO, benchEcho } from './contract';
import { serveParent } from './ipc';

const payload = { service: 'bench', instance: String(process.pid) };

const gateway = await startGateway(process.env, {
  extend(app, deps) {
    app.get('/v1/bench/echo', requireCredential('apiKey'), async (c) =>
      c.json(await deps.callService(c, 'capacity', BENCH_ECHO, benchEcho, payload)),
    );
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
