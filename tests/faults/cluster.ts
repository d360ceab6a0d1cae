/**
 * The production topology on this machine, started by the fault suite itself: three nats-servers
 * clustered with JetStream (streams of 3 replicas, every service as its own NATS user), one
 * FerretDB of its own (so pausing it touches no other test), two replicas of every domain service
 * and two gateways, each a child process that the suite can SIGKILL and start again.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { localNatsConfig, type ServiceName, services } from '@allot/contracts';
import { newId } from '@allot/kit';
import { call, type Reply } from '@allot/kit/testing';
import { freePort, type LocalServer, type NatsCluster, startFerret, startNatsCluster } from '@allot/local-servers';
import { type CallbackTarget, startSupplierSim } from '@allot/supplier-sim';
import { spawnService } from '../e2e/stack';

export type DomainService = 'capacity' | 'availability' | 'notifications' | 'inventory' | 'webhooks';
export const domainServices: DomainService[] = ['capacity', 'availability', 'notifications', 'inventory', 'webhooks'];

/** One replica of a service: its process now, and how to kill and start it again. */
export interface Replica {
  readonly name: string;
  readonly service: ServiceName;
  process: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  /**
   * Starts it again with a failpoint armed and waits (at most `withinMs`) for it to die there,
   * then starts it as usual: that death is the fault, not a crash. Answers whether it died there.
   */
  dieAt(failpoint: string, withinMs: number): Promise<boolean>;
}

export interface Cluster {
  nats: NatsCluster;
  ferret: LocalServer;
  mongoUrl: string;
  dbs: Record<ServiceName, string>;
  replicas: Replica[];
  gateways: (Replica & { base: string })[];
  supplierUrl: string;
  webhookSecret: string;
  rootKey: string;
  /** Replicas that failed to start or exited by themselves (each was started again, as a supervisor would). */
  crashes: string[];
  /** Where every child's log lines go (kept for a failed run). */
  logFile: string;
  /** A client of the gateway `n % 2`: callers spread their requests over both. */
  as(key: string, n: number): (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Reply>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Settings per service (over the suite's defaults). */
  env?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>;
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const passwords = Object.fromEntries(services.map((s) => [s, randomBytes(12).toString('hex')])) as Record<ServiceName, string>;
  const [nats, ferret] = await Promise.all([startNatsCluster({ size: 3, natsConfigText: localNatsConfig(passwords) }), startFerret()]);
  const logDir = mkdtempSync(path.join(tmpdir(), 'allot-cluster-'));
  const logFile = path.join(logDir, 'services.log');
  const dbs = Object.fromEntries(services.map((s) => [s, newId(s.slice(0, 3)).toLowerCase()])) as Record<ServiceName, string>;
  const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const rootKey = `root_${randomBytes(16).toString('hex')}`;
  const userTokenSecret = randomBytes(32).toString('hex');
  // Both webhooks replicas open the endpoints' secrets with the same key; the receiver is local.
  const webhooksEnv = { WEBHOOK_SECRET_KEY: randomBytes(32).toString('hex'), WEBHOOK_ALLOW_PRIVATE: 'true' };
  let callbackTarget: CallbackTarget | undefined;
  const sim = await startSupplierSim(0, { callbackTarget: () => callbackTarget });

  const envOf = (service: ServiceName): NodeJS.ProcessEnv => ({
    NATS_URL: nats.url,
    NATS_USER: service,
    NATS_PASSWORD: passwords[service],
    NATS_STREAM_REPLICAS: '3',
    MONGO_URL: ferret.url,
    MONGO_DB: dbs[service],
    PORT: '0',
    LOG_LEVEL: 'info',
    ...(service === 'inventory' ? { SUPPLIER_URL: sim.url } : {}),
    ...(service === 'webhooks' ? webhooksEnv : {}),
    ...options.env?.[service],
  });

  let stopping = false;
  /** What a supervisor saw: replicas that exited without being told to, and were started again. */
  const crashes: string[] = [];
  const replica = (service: ServiceName, index: number, extra: NodeJS.ProcessEnv = {}): Replica => {
    const name = `${service}-${index}`;
    const log = (line: string) => appendFileSync(logFile, `${name} ${line}\n`);
    let killing = false;
    const r: Replica = {
      name,
      service,
      process: undefined as unknown as ChildProcess,
      // As Kubernetes restarts a pod that failed: a service exits 1 when it cannot start (for
      // example JetStream not answering within its timeout while the cluster elects leaders).
      async start() {
        for (let attempt = 1; ; attempt++) {
          try {
            r.process = await spawnService(service, { ...envOf(service), ...extra }, log);
            break;
          } catch (error) {
            crashes.push(`${name} failed to start: ${(error as Error).message}`);
            if (attempt === 5) throw error;
          }
        }
        killing = false;
        const started = r.process;
        started.once('exit', (code, signal) => {
          if (killing || stopping || started !== r.process) return;
          crashes.push(`${name} exited by itself (${signal ?? code})`);
          r.start().catch(() => {});
        });
      },
      async kill(signal = 'SIGKILL') {
        if (!r.process || exited(r.process)) return;
        killing = true;
        const gone = new Promise((resolve) => r.process.once('exit', resolve));
        r.process.kill(signal);
        await gone;
      },
      async dieAt(failpoint, withinMs) {
        await r.kill('SIGKILL');
        let armed: ChildProcess | undefined;
        // It may die before it says it started: pending messages are handed to it at once.
        const died = await spawnService(service, { ...envOf(service), ...extra, ALLOT_FAILPOINTS: failpoint }, log)
          .then((child) => {
            armed = child;
            return new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(false), withinMs);
              child.once('exit', (_code, signal) => {
                clearTimeout(timer);
                resolve(signal === 'SIGKILL');
              });
            });
          })
          .catch((error: { signal?: NodeJS.Signals | null }) => error.signal === 'SIGKILL');
        if (armed && !exited(armed)) {
          const gone = new Promise((resolve) => armed?.once('exit', resolve));
          armed.kill('SIGKILL');
          await gone;
        }
        await r.start();
        return died;
      },
    };
    return r;
  };

  const replicas = domainServices.flatMap((s) => [replica(s, 0), replica(s, 1)]);
  const gateways = await Promise.all(
    [0, 1].map(async (i) => {
      const port = await freePort();
      const g = replica('gateway', i, {
        PORT: String(port),
        OPS_PORT: String(await freePort()),
        ROOT_API_KEY: rootKey,
        USER_TOKEN_SECRET: userTokenSecret,
        SUPPLIER_WEBHOOK_SECRET: webhookSecret,
        RATE_LIMIT_PER_SECOND: '100000',
        RATE_LIMIT_BURST: '100000',
      });
      return Object.assign(g, { base: `http://127.0.0.1:${port}` });
    }),
  );
  const stop = async () => {
    stopping = true;
    await Promise.all([...gateways, ...replicas].map((r) => (r.process ? r.kill('SIGTERM') : undefined)));
    await sim.close();
    await Promise.all([nats.stop(), ferret.stop()]);
  };
  try {
    // Services first (their streams exist before a gateway projects them), a few at a time on two cores.
    for (const some of [replicas.slice(0, 4), replicas.slice(4, 8), replicas.slice(8), gateways])
      await Promise.all(some.map((r) => r.start()));
  } catch (error) {
    await stop();
    throw new Error(`the cluster did not start (${(error as Error).message}); logs in ${logFile}`);
  }
  callbackTarget = { url: gateways[0]!.base, secret: webhookSecret };

  return {
    nats,
    ferret,
    mongoUrl: ferret.url,
    dbs,
    replicas,
    gateways,
    supplierUrl: sim.url,
    webhookSecret,
    rootKey,
    logFile,
    crashes,
    as:
      (key, n) =>
      (method, urlPath, body, headers = {}) =>
        call(gateways[n % 2]!.base, method, urlPath, { key, body, headers }),
    stop,
  };
}
