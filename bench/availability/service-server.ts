/**
 * A real domain service (`capacity` or `availability`, from BENCH_SERVICE) in its own process for
 * the availability benchmark, started from its package's entry point and stopped by the parent.
 * Env: the service's own (NATS_URL, MONGO_URL, MONGO_DB, PORT, LOG_LEVEL, ...).
 */
import { startAvailability } from '@allot/availability';
import { startCapacity } from '@allot/capacity';
import { serveParent } from '../gateway/ipc';

const start = process.env.BENCH_SERVICE === 'availability' ? startAvailability : startCapacity;
const running = await start(process.env);
serveParent({ pid: process.pid }, { stats: () => ({ memory: process.memoryUsage(), cpu: process.cpuUsage() }) }, () => running.stop());
