/**
 * `tsx tools/local-servers/src/cli.ts` — starts NATS + FerretDB (unless NATS_URL / MONGO_URL are set),
 * prints their URLs as shell exports, and stops them on Ctrl-C.
 */
import { startInfra } from './index';

const infra = await startInfra();
console.log(`export NATS_URL=${infra.natsUrl}`);
console.log(`export MONGO_URL=${infra.mongoUrl}`);
console.error('infra: running; Ctrl-C stops it');

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  await infra.stop();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
setInterval(() => {}, 1 << 30);
