/**
 * `make dev`: starts NATS and FerretDB (unless NATS_URL / MONGO_URL point elsewhere), then every
 * service that exists, the gateway, the supplier simulator and the webhook receiver, with readable logs in the
 * foreground. Ctrl-C (or SIGTERM) stops everything it started.
 *
 * `make dev CLUSTER=1` starts the deployed shape instead, as the fault suite does: three clustered
 * nats-servers with streams of 3 replicas, two replicas of every domain service (`capacity-0`,
 * `capacity-1`, …) and two gateways (GATEWAY_PORT and the port after it), to watch what a kill
 * (`kill -9` of a replica's pid) or a stopped NATS node does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { domainServices, localNatsConfig, type ServiceName, services } from '@allot/contracts';
import { freePort, type Infra, spawnGuarded, startFerret, startInfra, startNatsCluster, stopChild } from '@allot/local-servers';
import { seedDemo } from './demo';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Started {
  name: string;
  child: ChildProcess;
  port: number;
}

const children: Started[] = [];
let infra: Infra | undefined;
let stopping = false;

/**
 * Everything this stack prints goes through the log printer (printer.ts), a process of its own
 * that prettifies the services' pino lines and writes to the terminal. This process only cuts the
 * services' output into lines and hands them on, so it always reads their pipes at once: a
 * service writes its logs synchronously and would wait on a full pipe. When the printer falls
 * more than BACKLOG_LIMIT behind (a terminal that does not keep up), lines are dropped, counted
 * and reported instead of slowing the services down.
 */
const BACKLOG_LIMIT = 16 * 1024 * 1024;
const printer = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL('./printer.ts', import.meta.url))], {
  cwd: root,
  stdio: ['pipe', 'inherit', 'inherit'],
});
let printing = true;
let dropped = 0;
printer.stdin.on('error', () => {}); // the printer's exit, reported below
printer.on('exit', (code, signal) => {
  printing = false;
  if (!stopping) console.error(`dev: the log printer exited (${signal ?? code}); printing the logs unformatted`);
});

function print(line: string) {
  if (!printing) {
    process.stdout.write(`${line}\n`);
    return;
  }
  if (printer.stdin.writableLength > BACKLOG_LIMIT) {
    dropped++;
    return;
  }
  if (dropped) printer.stdin.write(`dev: ${dropped} log lines dropped: the terminal did not keep up\n`);
  dropped = 0;
  printer.stdin.write(`${line}\n`);
}

/** Prints the last lines, then lets the printer end. */
function stopPrinter(): Promise<void> {
  if (printer.exitCode !== null || printer.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => printer.kill('SIGKILL'), 5000);
    printer.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    printer.stdin.end();
  });
}

function entry(relative: string): string | undefined {
  const file = path.join(root, relative);
  return existsSync(file) ? file : undefined;
}

/** Hands a child's output to the printer line by line, labelled with its name. */
function relay(name: string, stream: NodeJS.ReadableStream | null) {
  if (!stream) return;
  const label = `${name.padEnd(16)}| `;
  createInterface({ input: stream }).on('line', (line) => print(`${label}${line}`));
}

function start(name: string, file: string, port: number, env: NodeJS.ProcessEnv): Started {
  const child = spawnGuarded(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  relay(name, child.stdout);
  relay(name, child.stderr);
  child.on('exit', (code) => {
    if (!stopping) console.error(`dev: ${name} exited with ${code}; stopping the stack`);
    if (!stopping) void shutdown(1);
  });
  const started = { name, child, port };
  children.push(started);
  return started;
}

async function waitReady({ name, port }: Started, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} did not become ready on port ${port}`);
}

async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  print('dev: stopping…');
  await Promise.all(children.map(({ child }) => stopChild(child)));
  await infra?.stop();
  await stopPrinter();
  process.exit(code);
}

process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

try {
  // The NATS started here has every service's deployed user: each service runs with exactly its
  // rights, as in compose and Kubernetes (the `nats` CLI, without credentials, may do anything).
  const passwords = Object.fromEntries(services.map((s) => [s, randomBytes(12).toString('hex')])) as Record<ServiceName, string>;
  const cluster = process.env.CLUSTER === '1';
  if (cluster && (process.env.NATS_URL || process.env.MONGO_URL))
    throw new Error('CLUSTER=1 starts its own servers: unset NATS_URL and MONGO_URL');
  infra = cluster
    ? await startCluster(localNatsConfig(passwords))
    : await startInfra(process.env, { natsConfigText: localNatsConfig(passwords) });
  const natsUser = (service: ServiceName) => (process.env.NATS_URL ? {} : { NATS_USER: service, NATS_PASSWORD: passwords[service] });
  print(`dev: NATS ${infra.natsUrl}  MongoDB ${infra.mongoUrl}`);
  const common = {
    NATS_URL: infra.natsUrl,
    MONGO_URL: infra.mongoUrl,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    ...(cluster ? { NATS_STREAM_REPLICAS: '3' } : {}),
  };
  const replicas = cluster ? 2 : 1;

  const simulator = entry('tools/supplier-sim/src/main.ts');
  const simPort = Number(process.env.SUPPLIER_SIM_PORT ?? 8090);
  const shared = { ...common, SUPPLIER_URL: process.env.SUPPLIER_URL ?? `http://127.0.0.1:${simPort}` };
  const started: Started[] = [];
  // The simulator's POST /_callbacks sends the gateway callbacks signed with the gateway's secret.
  const gatewayPort = Number(process.env.GATEWAY_PORT ?? 8080);
  const webhookSecret = process.env.SUPPLIER_WEBHOOK_SECRET ?? `whsec_${randomBytes(24).toString('base64')}`;
  const simEnv = { ...common, GATEWAY_URL: `http://127.0.0.1:${gatewayPort}`, SUPPLIER_WEBHOOK_SECRET: webhookSecret };
  if (simulator) started.push(start('supplier-sim', simulator, simPort, simEnv));
  // A receiving endpoint for outbound webhooks; the demo tenant's endpoint points at it.
  const receiver = entry('tools/webhook-receiver/src/main.ts');
  const receiverPort = Number(process.env.WEBHOOK_RECEIVER_PORT ?? 8091);
  if (receiver) start('webhook-recv', receiver, receiverPort, {});
  // Webhooks may call the local receiver (plain http, loopback): allowed here only.
  const webhooksEnv = {
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_SECRET_KEY: process.env.WEBHOOK_SECRET_KEY ?? randomBytes(32).toString('hex'),
  };
  const running: string[] = [];
  for (const name of domainServices) {
    const file = entry(`services/${name}/src/main.ts`);
    const own = name === 'webhooks' ? webhooksEnv : {};
    if (!file) continue;
    running.push(name);
    for (let i = 0; i < replicas; i++) {
      const label = cluster ? `${name}-${i}` : name;
      started.push(start(label, file, await freePort(), { ...shared, ...natsUser(name), ...own }));
    }
  }
  await Promise.all(started.map((s) => waitReady(s)));

  const gatewayFile = entry('services/gateway/src/main.ts');
  const rootKey = process.env.ROOT_API_KEY ?? `root_${randomBytes(24).toString('hex')}`;
  if (gatewayFile) {
    // The gateway's readiness asks the domain services this stack runs (not the simulator).
    const opsPort = Number(process.env.OPS_PORT ?? (await freePort()));
    const gatewayEnv = {
      ...shared,
      ...natsUser('gateway'),
      ROOT_API_KEY: rootKey,
      // Outside `make dev` the gateway refuses to start without a user-token secret of its own.
      USER_TOKEN_SECRET: process.env.USER_TOKEN_SECRET ?? randomBytes(32).toString('hex'),
      OPS_PORT: String(opsPort),
      // Signs the supplier's callbacks to POST /v1/webhooks/supplier.
      SUPPLIER_WEBHOOK_SECRET: webhookSecret,
      // Readiness asks the services this stack runs; set READY_SERVICES to ask others.
      READY_SERVICES: process.env.READY_SERVICES ?? running.join(','),
    };
    const gateway = start(cluster ? 'gateway-0' : 'gateway', gatewayFile, gatewayPort, gatewayEnv);
    // The second gateway of a cluster: the port after the first, operations on a free one.
    const second = cluster
      ? start('gateway-1', gatewayFile, gatewayPort + 1, { ...gatewayEnv, OPS_PORT: String(await freePort()) })
      : undefined;
    await Promise.all([gateway, ...(second ? [second] : [])].map((g) => waitReady(g)));
    await announce({
      port: gateway.port,
      secondPort: second?.port,
      opsPort,
      rootKey,
      natsUrl: infra.natsUrl,
      mongoUrl: infra.mongoUrl,
      simulator: simulator ? simPort : undefined,
      receiver: receiver ? receiverPort : undefined,
    });
  } else {
    print(`dev: running ${started.map((s) => `${s.name} (:${s.port})`).join(', ') || 'infrastructure only'}; Ctrl-C stops`);
  }
} catch (error) {
  console.error(`dev: ${(error as Error).message}`);
  await shutdown(1);
}

/** Three clustered nats-servers (every service's user on each) and one FerretDB, as the fault suite runs them. */
async function startCluster(natsConfigText: string): Promise<Infra> {
  const [nats, ferret] = await Promise.all([startNatsCluster({ size: 3, natsConfigText }), startFerret()]);
  return {
    natsUrl: nats.url,
    mongoUrl: ferret.url,
    async stop() {
      await Promise.all([nats.stop(), ferret.stop()]);
    },
  };
}

/** Creates the demo tenant and its data, and prints how to reach the stack. */
async function announce(stack: {
  port: number;
  /** The second gateway of a cluster. */
  secondPort?: number | undefined;
  opsPort: number;
  rootKey: string;
  natsUrl: string;
  mongoUrl: string;
  simulator?: number | undefined;
  receiver?: number | undefined;
}) {
  const base = `http://127.0.0.1:${stack.port}`;
  const receiverUrl = stack.receiver ? `http://127.0.0.1:${stack.receiver}` : undefined;
  const demo = await seedDemo(base, stack.rootKey, new Date(), receiverUrl && `${receiverUrl}/hooks/accept/demo`).catch(
    (error: Error) => error,
  );
  const row = (name: string, value: string) => `  ${name.padEnd(18)}${value}`;
  const lines = [
    '',
    row('Gateway', base),
    ...(stack.secondPort ? [row('Second gateway', `http://127.0.0.1:${stack.secondPort}   (same stack: spread clients over both)`)] : []),
    row('API docs', `${base}/docs   (OpenAPI: ${base}/v1/openapi.json)`),
    row('Ops (metrics)', `http://127.0.0.1:${stack.opsPort}/metrics   /readyz with details`),
    row('NATS', stack.natsUrl),
    row('MongoDB', stack.mongoUrl),
    ...(stack.simulator ? [row('Supplier sim', `http://127.0.0.1:${stack.simulator}`)] : []),
    ...(receiverUrl ? [row('Webhook receiver', `${receiverUrl}/_received   (POST /hooks/<accept|fail|hang|gone|throttle>/…)`)] : []),
    row('Root key', stack.rootKey),
  ];
  if (demo instanceof Error) lines.push(row('Demo tenant', `not created: ${demo.message}`));
  else
    lines.push(
      row('Demo tenant id', demo.tenantId),
      row('Demo API key', demo.apiKey),
      row(
        'Demo data',
        `${demo.sessions.length} sessions, ${demo.bookings} bookings, a waitlist entry${demo.skus.length ? `, ${demo.skus.length} SKUs and 2 orders` : ''}`,
      ),
      ...(demo.webhook ? [row('Demo webhook', `${demo.webhook.id} → ${demo.webhook.url}  (secret ${demo.webhook.secret})`)] : []),
      '',
      `  Try:  curl -H 'Authorization: Bearer ${demo.apiKey}' ${base}/v1/me`,
      `        nats --server ${stack.natsUrl} sub 'evt.*.${demo.tenantId}.>'`,
    );
  lines.push('', '  Ctrl-C stops everything.', '');
  for (const line of lines) print(line);
}
