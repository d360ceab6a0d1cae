/**
 * The parent side of the benchmark's child processes (echo service, gateway): each is a Node
 * process running a TypeScript file under tsx with an IPC channel. The child sends
 * `{ type: 'ready', ... }` once serving; the parent can `ask` it (`stats`) and `stop` it.
 * A child exits by itself when the parent disappears (the IPC channel closes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface BenchChild {
  readonly process: ChildProcess;
  readonly ready: Record<string, unknown>;
  ask<T>(type: string, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export async function startChild(
  file: string,
  env: Record<string, string>,
  options: { nodeArgs?: string[]; timeoutMs?: number } = {},
): Promise<BenchChild> {
  // TypeScript runs under tsx; a compiled file (`.js`, as production runs it) under plain Node.
  const loader = file.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, file], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const name = path.basename(file);
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not report ready in ${options.timeoutMs ?? 60_000} ms`));
    }, options.timeoutMs ?? 60_000);
    child.on('message', function onReady(m: { type?: string }) {
      if (m?.type !== 'ready') return;
      clearTimeout(timer);
      child.off('message', onReady);
      resolve(m as Record<string, unknown>);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before ready (code ${code}, signal ${signal})`));
    });
  });
  let nextId = 0;
  return {
    process: child,
    ready,
    ask<T>(type: string, timeoutMs = 30_000) {
      const id = ++nextId;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.off('message', onReply);
          reject(new Error(`${name} did not answer "${type}" in ${timeoutMs} ms`));
        }, timeoutMs);
        function onReply(m: { id?: number }) {
          if (m?.id !== id) return;
          clearTimeout(timer);
          child.off('message', onReply);
          resolve(m as T);
        }
        child.on('message', onReply);
        child.send({ type, id });
      });
    },
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        if (child.connected) child.send({ type: 'stop' });
        else child.kill('SIGTERM');
      });
    },
  };
}

/** The child side: announces readiness, answers `ask`s with `handlers`, stops on `stop` or when the parent is gone. */
export function serveParent(ready: Record<string, unknown>, handlers: Record<string, () => unknown>, stop: () => Promise<void>): void {
  const send = (m: unknown) => process.send?.(m);
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), 9000).unref();
    await stop().catch((error) => console.error(error));
    process.exit(code);
  };
  process.on('message', (m: { type?: string; id?: number }) => {
    if (m?.type === 'stop') return void shutdown(0);
    const handler = m?.type ? handlers[m.type] : undefined;
    if (handler) send({ id: m.id, ...(handler() as object) });
  });
  process.on('disconnect', () => void shutdown(1));
  process.on('SIGTERM', () => void shutdown(0));
  send({ type: 'ready', ...ready });
}
