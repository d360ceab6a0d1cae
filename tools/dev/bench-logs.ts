/**
 * Does `make dev`'s logging slow the stack down? Starts the dev stack (tools/dev/main.ts) once per
 * log level (default: `info`, then `warn`), creates a tenant and a session with the root key, drives
 * closed-loop clients booking 1 adult each on one session/date, and prints bookings/s per level and
 * the ratio info/warn (issue 16 asks for ≥ 0.9).
 *
 *   node --import tsx tools/dev/bench-logs.ts            # BENCH_CLIENTS=50 BENCH_SECONDS=5 BENCH_LEVELS=info,warn
 *
 * A level named more than once (BENCH_LEVELS=info,warn,warn,info) is run that often; the ratio is then
 * of the medians, which evens out a busy machine.
 *
 * The dev stack's output is read and dropped here. BENCH_TTY=1 runs it on a pseudo-terminal
 * (util-linux `script`), as in a terminal; BENCH_TERMINAL_KBPS=<n> reads it at most n KiB/s, as a
 * terminal that does not keep up; BENCH_DEV_OUTPUT=inherit prints it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '@allot/local-servers';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const clients = Number(process.env.BENCH_CLIENTS ?? 50);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const levels = (process.env.BENCH_LEVELS ?? 'info,warn').split(',');
const tty = process.env.BENCH_TTY === '1';
const terminalKBps = Number(process.env.BENCH_TERMINAL_KBPS ?? 0);

/** CPU seconds used so far by `pid` and each live descendant, named by role, read from /proc (Linux). */
function cpuByProcess(pid: number): Map<string, number> {
  const procs = new Map<number, { ppid: number; name: string; cpu: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const file = cmd.find((arg) => /\.(ts|js)$/.test(arg) && !arg.includes('tsx')) ?? cmd[0] ?? '?';
      const name = file.includes('/services/') || file.includes('/tools/') ? file.split('/').slice(-3).join('/') : path.basename(file);
      procs.set(Number(entry), { ppid: Number(fields[1]), name, cpu: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch {
      // The process ended while we looked.
    }
  }
  const found = new Map<string, number>();
  const visit = (parent: number) => {
    const own = procs.get(parent);
    if (own) found.set(`${own.name}#${parent}`, own.cpu);
    for (const [child, { ppid }] of procs) if (ppid === parent) visit(child);
  };
  visit(pid);
  return found;
}

/** Reads a stream at most `kBps` KiB/s, as a terminal that draws no faster. */
function throttle(stream: NodeJS.ReadableStream, kBps: number) {
  let budget = 0;
  let since = performance.now();
  stream.on('data', (chunk: Buffer) => {
    const now = performance.now();
    budget = Math.min(budget + ((now - since) / 1000) * kBps * 1024, 64 * 1024);
    since = now;
    budget -= chunk.length;
    if (budget < 0) {
      stream.pause();
      setTimeout(() => stream.resume(), (-budget / (kBps * 1024)) * 1000);
    }
  });
}

interface Stack {
  dev: ChildProcess;
  base: string;
  rootKey: string;
  lines: () => number;
}

async function startStack(level: string): Promise<Stack> {
  const rootKey = `root_${randomBytes(16).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: level,
    GATEWAY_PORT: String(await freePort()),
    SUPPLIER_SIM_PORT: String(await freePort()),
    ROOT_API_KEY: rootKey,
    RATE_LIMIT_PER_SECOND: '100000000',
    RATE_LIMIT_BURST: '100000000',
  };
  for (const name of ['NATS_URL', 'MONGO_URL', 'OPS_PORT']) delete env[name];
  const inherit = process.env.BENCH_DEV_OUTPUT === 'inherit';
  const command = [process.execPath, '--import', 'tsx', 'tools/dev/main.ts'];
  const dev = tty
    ? spawn('script', ['-qfec', `exec ${command.join(' ')}`, '/dev/null'], { cwd: root, env, stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(command[0] as string, command.slice(1), { cwd: root, env, stdio: ['ignore', 'pipe', inherit ? 'inherit' : 'pipe'] });
  let count = 0;
  dev.stderr?.resume();
  if (terminalKBps > 0) throttle(dev.stdout as NodeJS.ReadableStream, terminalKBps);
  const base = await new Promise<string>((resolve, reject) => {
    const seen: string[] = [];
    dev.once('exit', (code) => reject(new Error(`make dev exited with ${code}:\n${seen.slice(-30).join('\n')}`)));
    createInterface({ input: dev.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      count++;
      if (inherit) console.log(line);
      else if (seen.push(line) > 100) seen.shift();
      const gateway = /^ {2}Gateway\s{2,}(\S+)/.exec(line.replace(/\r$/, ''));
      if (gateway) resolve(gateway[1] as string);
    });
  });
  return { dev, base, rootKey, lines: () => count };
}

async function stopStack({ dev }: Stack) {
  const exited = new Promise((resolve) => dev.once('exit', resolve));
  // Ctrl-C: on the pseudo-terminal, to its foreground processes.
  if (tty) dev.stdin?.write('\x03');
  else dev.kill('SIGINT');
  await exited;
}

async function call(base: string, key: string, method: string, url: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function run(level: string) {
  const stack = await startStack(level);
  try {
    const tenant = await call(stack.base, stack.rootKey, 'POST', '/v1/tenants', { name: `Log bench ${level}` });
    if (tenant.status !== 201) throw new Error(`tenant: ${tenant.status} ${JSON.stringify(tenant.body)}`);
    const key = tenant.body.apiKey.key as string;
    const session = await call(stack.base, key, 'POST', '/v1/sessions', { name: 'Log bench', maxCapacity: 1_000_000 });
    if (session.status !== 201) throw new Error(`session: ${session.status} ${JSON.stringify(session.body)}`);
    const date = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const booking = { sessionId: session.body.id as string, date, adults: 1 };

    let measuring = false;
    let done = false;
    let ok = 0;
    const failures = new Map<number, number>();
    const client = async () => {
      while (!done) {
        const res = await call(stack.base, key, 'POST', '/v1/bookings', booking).catch(() => ({ status: 0 }));
        if (!measuring) continue;
        if (res.status === 201) ok++;
        else failures.set(res.status, (failures.get(res.status) ?? 0) + 1);
      }
    };
    const running = Array.from({ length: clients }, client);
    await new Promise((r) => setTimeout(r, warmupSeconds * 1000));
    const linesBefore = stack.lines();
    const cpuBefore = cpuByProcess(stack.dev.pid as number);
    measuring = true;
    const started = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    measuring = false;
    const elapsed = (performance.now() - started) / 1000;
    const lines = stack.lines() - linesBefore;
    const cpuAfter = cpuByProcess(stack.dev.pid as number);
    done = true;
    await Promise.all(running);
    const rate = ok / elapsed;
    const failed = [...failures].map(([status, n]) => `${n}×${status}`).join(' ') || 'none';
    console.log(
      `LOG_LEVEL=${level.padEnd(5)} ${rate.toFixed(0).padStart(5)} bookings/s  (${ok} in ${elapsed.toFixed(1)} s, ${clients} clients; failed: ${failed}; ${(lines / elapsed).toFixed(0)} log lines/s)`,
    );
    const cpu = [...cpuAfter]
      .map(([name, used]) => [name.split('#')[0], (used - (cpuBefore.get(name) ?? 0)) / elapsed] as const)
      .filter(([, share]) => share >= 0.01)
      .sort((a, b) => b[1] - a[1])
      .map(([name, share]) => `${name} ${(share * 100).toFixed(0)}%`);
    console.log(`  cpu (of one core): ${cpu.join(', ')}`);
    return rate;
  } finally {
    await stopStack(stack);
  }
}

console.log(
  `${clients} clients, ${seconds} s per run; dev output: ${tty ? 'pseudo-terminal' : 'pipe'}${terminalKBps ? `, read at ${terminalKBps} KiB/s` : ''}`,
);
const rates: Record<string, number[]> = {};
for (const level of levels) {
  const rate = await run(level);
  rates[level] = [...(rates[level] ?? []), rate];
}
function median(xs: number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  const mid = sorted.length / 2;
  return Number.isInteger(mid) ? ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2 : (sorted[Math.floor(mid)] as number);
}
if (levels.some((level) => (rates[level]?.length ?? 0) > 1))
  for (const [level, xs] of Object.entries(rates))
    console.log(`LOG_LEVEL=${level}: median ${median(xs).toFixed(0)} of ${xs.map((x) => x.toFixed(0)).join(', ')}`);
if (rates.info && rates.warn) console.log(`ratio info/warn: ${(median(rates.info) / median(rates.warn)).toFixed(2)} (target ≥ 0.9)`);
// A throttled reader may still hold the stacks' last output; it is not needed any more.
process.exit(0);
