/**
 * The whole stack for end-to-end tests: its own NATS server (so no other test file's services
 * answer its RPCs), the shared FerretDB, the capacity service and the gateway in this process,
 * driven only through HTTP and SSE like a client; the notifications and availability services,
 * and the inventory service with the supplier simulator, too when asked.
 * `startCapacityProcess` / `startAvailabilityProcess` / `startServiceProcess` run a service as a
 * child process instead, for tests that kill it; `startAvailability` starts another availability
 * replica.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { startAvailability } from '@allot/availability';
import { startCapacity } from '@allot/capacity';
import { type EventEnvelope, localNatsConfig, type ServiceName, services } from '@allot/contracts';
import { startGateway } from '@allot/gateway';
import { startInventory } from '@allot/inventory';
import { newId } from '@allot/kit';
import { call, type Reply } from '@allot/kit/testing';
import { type LocalServer, startNats } from '@allot/local-servers';
import { startNotifications } from '@allot/notifications';
import { type CallbackTarget, startSupplierSim } from '@allot/supplier-sim';
import { startWebhooks } from '@allot/webhooks';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { inject } from 'vitest';

export { eventually, openStream } from '@allot/kit/testing';
export type { Reply };

export interface Stack {
  base: string;
  /** The gateway's operations port (`/metrics`). */
  ops: string;
  rootKey: string;
  /** The stack's NATS: services connect as their own users; a connection without credentials may do anything (tests inspect streams). */
  natsUrl: string;
  /** A service's NATS user, as its environment (`NATS_USER`, `NATS_PASSWORD`). */
  natsUser(service: ServiceName): { NATS_USER: string; NATS_PASSWORD: string };
  capacityDb: string;
  notificationsDb: string;
  inventoryDb: string;
  /** The supplier simulator's URL (empty unless the stack runs inventory). */
  supplierUrl: string;
  /** Signs supplier callbacks to the gateway (`signCallback` from the simulator signs with it). */
  webhookSecret: string;
  availabilityDb: string;
  webhooksDb: string;
  /** The webhooks service's environment as the stack gives it (for a child process of it). */
  webhooksEnv: NodeJS.ProcessEnv;
  /** Calls the gateway as a client with a credential. */
  as(key: string): (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Reply>;
  newTenant(): Promise<{ tenantId: string; key: string }>;
  userToken(key: string, userId: string): Promise<string>;
  stopCapacity(): Promise<void>;
  stopNotifications(): Promise<void>;
  stopInventory(): Promise<void>;
  stopWebhooks(): Promise<void>;
  /** Starts (another) availability replica on the stack's NATS and database; stopped with the stack. */
  startAvailability(env?: NodeJS.ProcessEnv): ReturnType<typeof startAvailability>;
  stop(): Promise<void>;
}

export interface StackOptions {
  capacity?: NodeJS.ProcessEnv;
  gateway?: NodeJS.ProcessEnv;
  /** Do not start the capacity service in this process (a test runs it as a child). */
  capacityInProcess?: boolean;
  /** Also start the notifications service in this process, with these settings (`{}`: the defaults). */
  notifications?: NodeJS.ProcessEnv;
  /** Also start the supplier simulator and the inventory service pointed at it, with these settings. */
  inventory?: NodeJS.ProcessEnv;
  /** With `inventory`: run the service as a child process instead (`startServiceProcess`), for kill tests. */
  inventoryInProcess?: boolean;
  /** Also start the availability service in this process (with this environment, if an object). */
  availability?: boolean | NodeJS.ProcessEnv;
  /** Also start the webhooks service (private addresses allowed), with these settings (`{}`: the defaults). */
  webhooks?: NodeJS.ProcessEnv;
  /** With `webhooks`: run it as a child process instead (`startServiceProcess`), for kill tests. */
  webhooksInProcess?: boolean;
}

const quiet = () => process.env.TEST_LOG_LEVEL ?? 'silent';

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  // Every service connects as its own NATS user, with the rights it has when deployed.
  const passwords = Object.fromEntries(services.map((s) => [s, randomBytes(12).toString('hex')])) as Record<ServiceName, string>;
  const natsUser = (service: ServiceName) => ({ NATS_USER: service, NATS_PASSWORD: passwords[service] });
  const nats: LocalServer = await startNats({ natsConfigText: localNatsConfig(passwords) });
  const common = { NATS_URL: nats.url, MONGO_URL: inject('mongoUrl'), PORT: '0', LOG_LEVEL: quiet() };
  const capacityDb = newId('cap').toLowerCase();
  let stopCapacity = async () => {};
  if (options.capacityInProcess !== false) {
    const capacity = await startCapacity({ ...common, ...natsUser('capacity'), MONGO_DB: capacityDb, ...options.capacity });
    stopCapacity = () => capacity.stop();
  }
  const notificationsDb = newId('ntf').toLowerCase();
  let stopNotifications = async () => {};
  if (options.notifications) {
    const notifications = await startNotifications({
      ...common,
      ...natsUser('notifications'),
      MONGO_DB: notificationsDb,
      ...options.notifications,
    });
    stopNotifications = () => notifications.stop();
  }
  const inventoryDb = newId('inv').toLowerCase();
  // The simulator's `POST /_callbacks` calls the gateway, which starts below.
  let callbackTarget: CallbackTarget | undefined;
  const sim = options.inventory ? await startSupplierSim(0, { callbackTarget: () => callbackTarget }) : undefined;
  let stopInventory = async () => {};
  if (options.inventory && options.inventoryInProcess !== false) {
    const inventory = await startInventory({
      ...common,
      ...natsUser('inventory'),
      MONGO_DB: inventoryDb,
      SUPPLIER_URL: sim?.url,
      ...options.inventory,
    });
    stopInventory = () => inventory.stop();
  }
  // Standard Webhooks' form of secret (the gateway also takes any string of 16 characters or more).
  const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const availabilityDb = newId('avl').toLowerCase();
  const replicas: Awaited<ReturnType<typeof startAvailability>>[] = [];
  const startReplica = async (env: NodeJS.ProcessEnv = {}) => {
    const running = await startAvailability({ ...common, ...natsUser('availability'), MONGO_DB: availabilityDb, ...env });
    replicas.push(running);
    return running;
  };
  if (options.availability) await startReplica(options.availability === true ? {} : options.availability);
  const webhooksDb = newId('whk').toLowerCase();
  const webhooksEnv = {
    WEBHOOK_SECRET_KEY: randomBytes(32).toString('hex'),
    WEBHOOK_ALLOW_PRIVATE: 'true',
    ...options.webhooks,
  };
  let stopWebhooks = async () => {};
  if (options.webhooks && options.webhooksInProcess !== false) {
    const webhooks = await startWebhooks({ ...common, ...natsUser('webhooks'), MONGO_DB: webhooksDb, ...webhooksEnv });
    stopWebhooks = () => webhooks.stop();
  }
  const rootKey = `root_${randomBytes(16).toString('hex')}`;
  const gateway = await startGateway({
    ...common,
    ...natsUser('gateway'),
    MONGO_DB: newId('gw').toLowerCase(),
    ROOT_API_KEY: rootKey,
    USER_TOKEN_SECRET: randomBytes(32).toString('hex'),
    OPS_PORT: '0',
    SUPPLIER_WEBHOOK_SECRET: webhookSecret,
    READY_SERVICES: options.availability ? 'capacity,availability' : 'capacity',
    RATE_LIMIT_PER_SECOND: '100000',
    RATE_LIMIT_BURST: '100000',
    ...options.gateway,
  });
  const base = `http://127.0.0.1:${gateway.port}`;
  callbackTarget = { url: base, secret: webhookSecret };

  const as =
    (key: string) =>
    (method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> =>
      call(base, method, urlPath, { key, body, headers });

  return {
    base,
    ops: `http://127.0.0.1:${gateway.opsPort}`,
    rootKey,
    natsUrl: nats.url,
    natsUser,
    capacityDb,
    notificationsDb,
    inventoryDb,
    supplierUrl: sim?.url ?? '',
    webhookSecret,
    availabilityDb,
    webhooksDb,
    webhooksEnv,
    as,
    async newTenant() {
      const res = await as(rootKey)('POST', '/v1/tenants', { name: 'e2e' });
      if (res.status !== 201) throw new Error(`tenant: ${res.status} ${res.text}`);
      return { tenantId: res.body.tenant.id, key: res.body.apiKey.key };
    },
    async userToken(key, userId) {
      const res = await as(key)('POST', '/v1/auth/user-tokens', { userId });
      if (res.status !== 201) throw new Error(`token: ${res.status} ${res.text}`);
      return res.body.token;
    },
    stopCapacity: () => stopCapacity(),
    stopNotifications: () => stopNotifications(),
    stopInventory: () => stopInventory(),
    stopWebhooks: () => stopWebhooks(),
    startAvailability: startReplica,
    async stop() {
      await gateway.stop();
      await Promise.all(replicas.map((r) => r.stop().catch(() => {}))); // a test may have stopped one
      await stopCapacity();
      await stopNotifications();
      await stopInventory();
      await stopWebhooks();
      await sim?.close();
      // Every service ran with its deployed NATS rights: one refused publish or subscription is a failure.
      const refused = readFileSync(path.join(nats.dataDir, 'nats-server.log'), 'utf8')
        .split('\n')
        .filter((line) => /violation/i.test(line));
      await nats.stop();
      if (refused.length) throw new Error(`NATS refused a service something its rights lack:\n${refused.join('\n')}`);
    },
  };
}

/** The capacity service as a child process on the stack's NATS and database, for kill tests. */
export function startCapacityProcess(stack: Stack, env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  return startServiceProcess(stack, 'capacity', env);
}

/** The availability service as a child process on the stack's NATS and database, for kill tests. */
export function startAvailabilityProcess(stack: Stack, env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  return startServiceProcess(stack, 'availability', env);
}

/** A service as a child process on the stack's NATS and its database of the stack, for kill tests. */
export async function startServiceProcess(
  stack: Stack,
  service: 'capacity' | 'notifications' | 'inventory' | 'availability' | 'webhooks',
  env: NodeJS.ProcessEnv = {},
): Promise<ChildProcess> {
  return spawnService(service, {
    NATS_URL: stack.natsUrl,
    ...stack.natsUser(service),
    MONGO_URL: inject('mongoUrl'),
    MONGO_DB: {
      capacity: stack.capacityDb,
      notifications: stack.notificationsDb,
      inventory: stack.inventoryDb,
      availability: stack.availabilityDb,
      webhooks: stack.webhooksDb,
    }[service],
    ...(service === 'inventory' ? { SUPPLIER_URL: stack.supplierUrl } : {}),
    ...(service === 'webhooks' ? stack.webhooksEnv : {}),
    PORT: '0',
    LOG_LEVEL: 'info',
    ...env,
  });
}

/**
 * Runs a service's `main.ts` as a child process with this environment (over the test's own) and
 * resolves once it logged that it started. `onLine` gets each line it writes (stdout and stderr).
 */
export async function spawnService(service: ServiceName, env: NodeJS.ProcessEnv, onLine?: (line: string) => void): Promise<ChildProcess> {
  const main = path.resolve(__dirname, `../../services/${service}/src/main.ts`);
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', onLine ? 'pipe' : 'inherit'],
  });
  if (onLine) createInterface({ input: child.stderr! }).on('line', onLine);
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code, signal) => reject(Object.assign(new Error(`${service} exited with ${code ?? signal}`), { signal })));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      onLine?.(line);
      if (line.includes(`${service} started`)) resolve();
    });
  });
  return child;
}

export const today = (offsetDays = 0) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

/** Every message stored on a stream under `subject` (wildcards allowed), parsed, in stream order. */
export async function messagesOn<T>(natsUrl: string, stream: string, subject: string): Promise<T[]> {
  const nc = await connect({ servers: natsUrl });
  const events: T[] = [];
  try {
    const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: [subject], deliver_policy: DeliverPolicy.All });
    let left = (await consumer.info()).num_pending;
    while (left > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(left, 500), expires: 2000 });
      for await (const m of batch) {
        events.push(m.json<T>());
        left--;
      }
    }
  } finally {
    await nc.close();
  }
  return events;
}

/** Every event stored on a stream under `subject` (wildcards allowed), in stream order. */
export const storedEvents = (natsUrl: string, stream: string, subject: string) => messagesOn<EventEnvelope>(natsUrl, stream, subject);
