/**
 * Benchmark child processes: real entry points (`node --import tsx <file>`) under guard.sh, so
 * they stop if the benchmark dies. Their log lines at warn or above are counted and the first
 * few kept, so a report can say what the services complained about while they were measured.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnGuarded } from '@allot/local-servers';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Children log at warn unless BENCH_LOG_LEVEL says otherwise: their logging is not what is measured. */
export const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';

export interface Child {
  name: string;
  process: ChildProcess;
  /** Log lines at warn, and at error or above (with stderr lines that are not JSON). */
  warnings: number;
  errors: number;
  samples: string[];
  /** Counts when the stop began, so what shutdown logged is told apart. */
  atStop?: { warnings: number; errors: number };
  exited: { code: number | null; signal: string | null } | null;
}

/** Extra Node flags for every child, e.g. `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` to profile each process. */
const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];

export function startChild(name: string, entry: string, env: Record<string, string>): Child {
  const proc = spawnGuarded(process.execPath, [...nodeArgs, '--import', 'tsx', path.resolve(root, entry)], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: logLevel, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = { name, process: proc, warnings: 0, errors: 0, samples: [], exited: null };
  const onLine = (stream: 'stdout' | 'stderr') => (line: string) => {
    if (!line.trim()) return;
    let level: string = stream === 'stderr' ? 'error' : 'info';
    try {
      level = String((JSON.parse(line) as { level?: unknown }).level ?? level);
    } catch {}
    if (level === 'error' || level === 'fatal') child.errors++;
    else if (level === 'warn') child.warnings++;
    else return;
    if (child.samples.length < 5) child.samples.push(`${child.atStop ? '(during stop) ' : ''}${line.slice(0, 500)}`);
    console.log(`[${name}] ${line.slice(0, 500)}`);
  };
  createInterface({ input: proc.stdout! }).on('line', onLine('stdout'));
  createInterface({ input: proc.stderr! }).on('line', onLine('stderr'));
  proc.once('exit', (code, signal) => {
    child.exited = { code, signal };
  });
  return child;
}

/** SIGTERM (guard.sh passes it on and waits for the child), SIGKILL after 15 s. */
export async function stopChild(child: Child): Promise<void> {
  child.atStop ??= { warnings: child.warnings, errors: child.errors };
  const proc = child.process;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    proc.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/** Polls `url` (a /readyz) until 200; fails early if one of `children` exits meanwhile. */
export async function waitReady(url: string, children: Child[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const dead = children.find((c) => c.exited);
    if (dead) throw new Error(`${dead.name} exited before ready (${JSON.stringify(dead.exited)}): ${dead.samples.join('\n')}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (error) {
      last = String(error);
    }
    await sleep(200);
  }
  throw new Error(`${url} not 200 within ${timeoutMs / 1000} s; last: ${last}`);
}

export type ChildLogs = ReturnType<typeof childLogs>;

/** What each child logged at warn or above, while running and while stopping, and how it exited. */
export function childLogs(children: Child[]) {
  return children.map((c) => ({
    name: c.name,
    warnLinesWhileRunning: c.atStop?.warnings ?? c.warnings,
    errorLinesWhileRunning: c.atStop?.errors ?? c.errors,
    warnLinesWhileStopping: c.warnings - (c.atStop?.warnings ?? c.warnings),
    errorLinesWhileStopping: c.errors - (c.atStop?.errors ?? c.errors),
    samples: c.samples,
    exit: c.exited,
  }));
}

export const childLogLine = (logs: ChildLogs) =>
  logs
    .map(
      (s) =>
        `${s.name} ${s.warnLinesWhileRunning} warn / ${s.errorLinesWhileRunning} error while running, ${s.warnLinesWhileStopping} / ${s.errorLinesWhileStopping} while stopping (exit ${s.exit?.code ?? s.exit?.signal ?? '?'})`,
    )
    .join('; ');
