/**
 * A trivial RPC service for `gateway/throughput.ts`, in its own process: `rpc.capacity.bench-echo`
 * answers its input (validated in and out by the kit's RpcServer, like any real operation).
 * Env: NATS_URL, MONGO_URL, MONGO_DB, LOG_LEVEL, PORT.
 */
import { createService } from '@allot/kit';
import { BENCH_ECHO, benchEcho } from './contract';
import { serveParent } from './ipc';

const service = await createService({ name: 'capacity' });
service.rpc.add(BENCH_ECHO, benchEcho, async (input) => input);
await service.start({ healthServer: false });
serveParent({ pid: process.pid }, { stats: () => ({ memory: process.memoryUsage(), cpu: process.cpuUsage() }) }, () => service.stop());
