/**
 * The two systems the capacity and inventory benchmarks drive with the same load:
 * - the peer (`bench/peer/main.ts`), a naive Hono + mongodb monolith on a FerretDB of its own;
 * - Allot as `make dev` runs it (tools/dev/main.ts): nats-server and FerretDB from `startInfra`,
 *   the supplier simulator, every domain service and the gateway, each in its own process.
 * Each is started for its own measurements and stopped before the other starts, so neither
 * competes with the other for this machine's cores.
 */
import { randomBytes } from 'node:crypto';
import { domainServices } from '@allot/contracts';
import { freePort, startFerret, startInfra } from '@allot/local-servers';
import { MongoClient } from 'mongodb';
import { createTenant, newRootKey } from '../gateway/common';
import { type Child, childLogs, startChild, stopChild, waitReady } from './children';

export interface Target {
  kind: 'peer' | 'allot';
  /** `http://127.0.0.1:<port>` serving the public routes. */
  base: string;
  /** The Bearer key the load sends. */
  key: string;
  /** A client of the target's database, for `serverStatus` and checks. */
  admin: MongoClient;
  /** Its processes (CPU names in lib/cpu.ts) that must be idle before a measurement starts. */
  busyNames: string[];
  children: Child[];
  /** Stops every process it started; returns what they logged. */
  stop(): Promise<ReturnType<typeof childLogs>>;
}

/** The peer on a FerretDB started as `startInfra` starts one (it needs no NATS). */
export async function startPeer(): Promise<Target & { db: string }> {
  const ferret = await startFerret();
  const key = randomBytes(16).toString('hex');
  const port = await freePort();
  const db = 'peer';
  const peer = startChild('peer', 'bench/peer/main.ts', { MONGO_URL: ferret.url, MONGO_DB: db, PORT: String(port), API_KEY: key });
  const admin = new MongoClient(ferret.url);
  const stop = async () => {
    await stopChild(peer);
    await admin.close();
    await ferret.stop();
    return childLogs([peer]);
  };
  try {
    await waitReady(`http://127.0.0.1:${port}/readyz`, [peer], 60_000);
    await admin.connect();
  } catch (error) {
    await stop();
    throw error;
  }
  return { kind: 'peer', base: `http://127.0.0.1:${port}`, key, admin, busyNames: ['peer', 'ferretdb'], children: [peer], stop, db };
}

/**
 * The whole platform as `make dev` starts it: the simulator and every domain service (all
 * consuming their events), ready before the gateway starts; then a tenant and its API key. The
 * gateway's rate limits are raised out of the way: 50 clients on one key are the load, not abuse.
 * `env` is added to every child's environment (e.g. lib/traces.ts's OTel variables).
 */
export async function startPlatform(
  env: Record<string, string> = {},
): Promise<Target & { dbs: string[]; rootKey: string; natsUrl: string }> {
  const infra = await startInfra();
  const stamp = Date.now();
  const children: Child[] = [];
  const dbs: string[] = [];
  let admin: MongoClient | undefined;
  const stop = async () => {
    // The gateway first, so no request reaches a service that is stopping.
    const gateway = children.filter((c) => c.name === 'gateway');
    await Promise.all(gateway.map(stopChild));
    await Promise.all(children.map(stopChild));
    if (admin && process.env.MONGO_URL) {
      // An external database keeps what this run wrote unless it is dropped (a local one goes with its data directory).
      await Promise.all(
        dbs.map((db) =>
          admin!
            .db(db)
            .dropDatabase()
            .catch(() => {}),
        ),
      );
    }
    await admin?.close();
    await infra.stop();
    return childLogs(children);
  };
  try {
    const common = { ...env, NATS_URL: infra.natsUrl, MONGO_URL: infra.mongoUrl };
    const mongoDb = (name: string) => {
      const db = `bench_${name.replace(/-/g, '_')}_${stamp}`;
      dbs.push(db);
      return db;
    };
    const simPort = await freePort();
    children.push(startChild('supplier-sim', 'tools/supplier-sim/src/main.ts', { ...common, PORT: String(simPort) }));
    const shared = {
      ...common,
      SUPPLIER_URL: `http://127.0.0.1:${simPort}`,
      // The webhooks service seals endpoint secrets with this key; no endpoint exists in these runs.
      WEBHOOK_SECRET_KEY: randomBytes(32).toString('hex'),
    };
    const ready = [`http://127.0.0.1:${simPort}/readyz`];
    for (const name of domainServices) {
      const port = await freePort();
      children.push(startChild(name, `services/${name}/src/main.ts`, { ...shared, PORT: String(port), MONGO_DB: mongoDb(name) }));
      ready.push(`http://127.0.0.1:${port}/readyz`);
    }
    await Promise.all(ready.map((url) => waitReady(url, children)));

    const rootKey = newRootKey();
    const port = await freePort();
    children.push(
      startChild('gateway', 'services/gateway/src/main.ts', {
        ...shared,
        PORT: String(port),
        OPS_PORT: '0',
        MONGO_DB: mongoDb('gateway'),
        ROOT_API_KEY: rootKey,
        USER_TOKEN_SECRET: randomBytes(32).toString('hex'),
        SUPPLIER_WEBHOOK_SECRET: randomBytes(24).toString('hex'),
        READY_SERVICES: domainServices.join(','),
        RATE_LIMIT_PER_SECOND: '100000000',
        RATE_LIMIT_BURST: '100000000',
      }),
    );
    const base = `http://127.0.0.1:${port}`;
    await waitReady(`${base}/readyz`, children);
    admin = await new MongoClient(infra.mongoUrl).connect();
    const { key } = await createTenant(base, rootKey, 'Bench tenant');
    const busyNames = ['gateway', ...domainServices, 'nats-server', 'ferretdb'];
    return { kind: 'allot', base, key, admin, busyNames, children, stop, dbs, rootKey, natsUrl: infra.natsUrl };
  } catch (error) {
    await stop();
    throw error;
  }
}
