/**
 * Local infrastructure for tests and `make dev`: a nats-server with JetStream and FerretDB
 * (SQLite backend), each on free ports with its own temporary data directory. Servers run under
 * `guard.sh`, which stops them when this process dies, even by SIGKILL.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const binDir = path.join(root, '.cache/bin');
const guard = path.join(root, 'tools/local-servers/guard.sh');

/** A server process this library started. */
export interface LocalServer {
  readonly url: string;
  readonly dataDir: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Stops and starts it again on the same port with the same data (for fault tests). */
  restart(): Promise<void>;
  /** Sends a signal to the server itself, not its guard (SIGKILL, SIGSTOP, SIGCONT for fault tests). */
  signal(signal: NodeJS.Signals): void;
  /** Whether the server process is running (false once it was killed, until `restart`). */
  readonly running: boolean;
}

export interface Infra {
  readonly natsUrl: string;
  readonly mongoUrl: string;
  stop(): Promise<void>;
}

/** Lowest port `freePort` picks itself: below it lie ports other software is configured for. */
const MIN_PICKED_PORT = 10_000;
/** Ports this process handed out: a server may not be listening on one yet, so a probe would find it free. */
const handedOut = new Set<number>();

/**
 * A port that is free right now, picked below the kernel's ephemeral range where it can. The OS
 * answers `listen(0)` from that range, which every outgoing connection of every process draws
 * from too: a server started a moment later on such a port can find a connection's local end
 * on it (EADDRINUSE, seen when a benchmark started seven services at once). Below the range
 * only another listener can take it.
 */
export async function freePort(): Promise<number> {
  const ephemeralLow = lowestEphemeralPort();
  for (let attempt = 0; ephemeralLow > MIN_PICKED_PORT && attempt < 20; attempt++) {
    const port = MIN_PICKED_PORT + Math.floor(Math.random() * (ephemeralLow - MIN_PICKED_PORT));
    if (handedOut.has(port)) continue;
    handedOut.add(port); // before the probe, so that a concurrent call does not pick it too
    if (await listens(port)) return port;
    handedOut.delete(port);
  }
  return listens(0);
}

/** The first port of Linux's ephemeral range; 0 where it cannot be read. */
function lowestEphemeralPort(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 0;
  } catch {
    return 0;
  }
}

/** Listens on `port` (0: one the OS picks) and closes again: the port it got, or 0 if it was taken. */
function listens(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' && port !== 0 ? resolve(0) : reject(error)));
    srv.listen(port, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function binary(name: string): string {
  const file = path.join(binDir, name);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run \`make infra\` (tools/local-servers/build-binaries.sh) first`);
  }
  return file;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, ready: () => Promise<boolean>, child: ChildProcess, logFile: string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}; see ${logFile}`);
    if (await ready().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`${what} did not become ready in 30 s; see ${logFile}`);
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await res.body?.cancel();
  return res.ok;
}

/**
 * Spawns a command that is stopped when this process dies, even by SIGKILL (see guard.sh).
 * SIGTERM to the returned child stops the command and waits for it.
 */
export function spawnGuarded(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(guard, [String(process.pid), command, ...args], options);
}

function startGuarded(command: string, args: string[], dataDir: string, logFile: string, keepData: boolean) {
  const log = openSync(logFile, 'a');
  const env = keepData ? process.env : { ...process.env, GUARD_REMOVE: dataDir };
  return spawnGuarded(command, args, { stdio: ['ignore', log, log], env });
}

/**
 * Stops a guarded child: SIGTERM, then SIGKILL after 5 s — to the guard and to the command it
 * runs, since a SIGKILLed guard leaves its command running. Resolves once both have exited. A
 * server that outlived its guard (FerretDB finishing its own shutdown, slowly, on a busy machine)
 * kept serving the connections it had while `restart` started another on the same port and
 * files: two processes wrote one database, each serialising only its own writes.
 */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const command = guardedPid(child);
  await new Promise<void>((resolve) => {
    const kill = setTimeout(() => {
      if (command !== undefined) killProcess(command);
      child.kill('SIGKILL');
    }, 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
  while (command !== undefined && running(command)) {
    killProcess(command);
    await sleep(20);
  }
}

/** SIGKILL to a process that may have exited meanwhile. */
function killProcess(pid: number) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
}

/**
 * Waits (at most 2 s) until a process sent SIGSTOP has stopped: kill() returns once the signal is
 * queued, and each thread of a multi-threaded server stops on its own way back from the kernel.
 * A fault test that acts next (an insert that must not be answered) needs it stopped already.
 */
function waitStopped(pid: number) {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + 2000;
  while (!everyThreadStopped(pid) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 1);
}

function everyThreadStopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((tid) => processState(`${pid}/task/${tid}`) === 'T');
  } catch {
    return true; // gone
  }
}

/** A process's (or `pid/task/tid`'s) state letter (R, S, T, Z…), or undefined once it is gone. */
function processState(pid: number | string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** Whether a process runs: alive and not a zombie (one whose guard died is nobody's to reap). */
function running(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'Z';
}

interface ServerSpec {
  name: string;
  args(dataDir: string): string[];
  ready(): Promise<boolean>;
}

async function startServer(spec: ServerSpec, url: string, keepData: boolean): Promise<LocalServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `allot-${spec.name}-`));
  const logFile = path.join(dataDir, `${spec.name}.log`);
  let child: ChildProcess;
  const launch = async () => {
    child = startGuarded(binary(spec.name), spec.args(dataDir), dataDir, logFile, keepData);
    await waitUntil(spec.name, spec.ready, child, logFile);
  };
  await launch();
  return {
    url,
    dataDir,
    async stop() {
      await stopChild(child);
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
    async restart() {
      await stopChild(child);
      await launch();
    },
    signal(signal) {
      const server = guardedPid(child);
      if (server === undefined) throw new Error(`${spec.name} is not running: no process to send ${signal} to`);
      process.kill(server, signal);
      if (signal === 'SIGSTOP') waitStopped(server);
    },
    get running() {
      return child.exitCode === null && child.signalCode === null && guardedPid(child) !== undefined;
    },
  };
}

/**
 * The pid of the server a guard runs: the guard's child whose command line starts with the
 * command it was given. (Telling it by exclusion — not the guard's `sleep`, nor a fork of the
 * guard — would also take a `sleep` that exited and is not yet reaped: a zombie's command line
 * is empty.)
 */
function guardedPid(guardChild: ChildProcess): number | undefined {
  if (!guardChild.pid) return undefined;
  const command = `${guardChild.spawnargs[2]}\0`;
  const children = (() => {
    try {
      return readFileSync(`/proc/${guardChild.pid}/task/${guardChild.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      return [];
    }
  })();
  return children.map(Number).find((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(command);
    } catch {
      return false;
    }
  });
}

export interface StartOptions {
  /** Keep the data directory after stop (for inspecting a failed run). */
  keepData?: boolean;
  /** A configuration file for nats-server (e.g. users and permissions); flags set the rest. */
  natsConfig?: string;
  /** The text of such a configuration (written beside the server's data). */
  natsConfigText?: string;
}

const written = (file: string, text: string) => {
  writeFileSync(file, text);
  return file;
};

/** Starts nats-server with JetStream on a free port. */
export async function startNats(options: StartOptions = {}): Promise<LocalServer> {
  const port = await freePort();
  const monitorPort = await freePort();
  return startServer(
    {
      name: 'nats-server',
      args: (dir) => [
        ...(options.natsConfigText !== undefined ? ['-c', written(path.join(dir, 'nats.conf'), options.natsConfigText)] : []),
        ...(options.natsConfig ? ['-c', options.natsConfig] : []),
        ...['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-js', '-sd', dir],
      ],
      ready: () => httpOk(`http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`),
    },
    `nats://127.0.0.1:${port}`,
    options.keepData ?? false,
  );
}

/** A JetStream cluster of local nats-servers, as deployed: routes between every node, one meta group. */
export interface NatsCluster {
  /** Every node's client URL, comma-separated (what services take as `NATS_URL`). */
  readonly url: string;
  readonly nodes: (LocalServer & { readonly name: string; readonly monitorUrl: string })[];
  stop(): Promise<void>;
}

/**
 * Starts `size` nats-servers clustered with JetStream on free ports (each with `natsConfigText`,
 * e.g. users), and waits until every node reports JetStream healthy (a meta leader elected).
 */
export async function startNatsCluster(options: StartOptions & { size?: number } = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({ client: await freePort(), route: await freePort(), monitor: await freePort() })),
  );
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`).join(',');
  // Every node must be running before any can elect a meta leader: start them together.
  const nodes = await Promise.all(
    ports.map(async (p, i) => {
      const name = `nats-${i}`;
      const server = await startServer(
        {
          name: 'nats-server',
          args: (dir) => [
            ...(options.natsConfigText !== undefined ? ['-c', written(path.join(dir, 'nats.conf'), options.natsConfigText)] : []),
            ...['-n', name, '-a', '127.0.0.1', '-p', String(p.client), '-m', String(p.monitor), '-js', '-sd', dir],
            ...['--cluster_name', 'allot', '--cluster', `nats://127.0.0.1:${p.route}`, '--routes', routes],
          ],
          ready: () => httpOk(`http://127.0.0.1:${p.monitor}/healthz?js-enabled-only=true`),
        },
        `nats://127.0.0.1:${p.client}`,
        options.keepData ?? false,
      );
      return Object.assign(server, { name, monitorUrl: `http://127.0.0.1:${p.monitor}` });
    }),
  );
  const deadline = Date.now() + 30_000;
  while (!(await Promise.all(nodes.map((n) => httpOk(`${n.monitorUrl}/healthz`).catch(() => false)))).every(Boolean)) {
    if (Date.now() > deadline) throw new Error(`the NATS cluster elected no JetStream leader in 30 s; see ${nodes[0]?.dataDir}`);
    await sleep(100);
  }
  return {
    url: nodes.map((n) => n.url).join(','),
    nodes,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/**
 * Starts FerretDB v1 with its SQLite backend on a free port. Commits are not synced to disk one
 * by one (`synchronous(normal)` in WAL mode): a write survives FerretDB or any service dying, and
 * only a crash of the machine itself could lose the last ones. FerretDB writes each statement of
 * an update in its own transaction, and syncing each doubled what an update cost.
 */
export async function startFerret(options: StartOptions = {}): Promise<LocalServer> {
  const port = await freePort();
  const debugPort = await freePort();
  return startServer(
    {
      name: 'ferretdb',
      args: (dir) => [
        '--handler=sqlite',
        `--sqlite-url=file:${dir}/?_pragma=synchronous(normal)`,
        `--state-dir=${dir}`,
        `--listen-addr=127.0.0.1:${port}`,
        `--debug-addr=127.0.0.1:${debugPort}`,
        '--telemetry=disable',
        '--log-level=WARN',
      ],
      ready: () => httpOk(`http://127.0.0.1:${debugPort}/debug/readyz`),
    },
    `mongodb://127.0.0.1:${port}/`,
    options.keepData ?? false,
  );
}

/**
 * Starts NATS and FerretDB unless `NATS_URL` / `MONGO_URL` point at external servers, which are
 * then used as they are (and left running on stop).
 */
export async function startInfra(env: NodeJS.ProcessEnv = process.env, options: StartOptions = {}): Promise<Infra> {
  const [nats, ferret] = await Promise.all([
    env.NATS_URL ? undefined : startNats(options),
    env.MONGO_URL ? undefined : startFerret(options),
  ]);
  return {
    natsUrl: env.NATS_URL ?? (nats as LocalServer).url,
    mongoUrl: env.MONGO_URL ?? (ferret as LocalServer).url,
    async stop() {
      await Promise.all([nats?.stop(), ferret?.stop()]);
    },
  };
}

/** Whether a process with this id is still alive (signal 0 probes without touching it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
export { writeOrCheck } from './generated-file';
