import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** CPU time of all cores so far (ms), from /proc/stat via os.cpus(). */
export function cpuTimes(): { busy: number; all: number } {
  let busy = 0;
  let all = 0;
  for (const { times: t } of os.cpus()) {
    busy += t.user + t.nice + t.sys + t.irq;
    all += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, all };
}

/** Busy share of the whole machine since `before`, in % (100 = every core busy). */
export function machineBusySince(before: { busy: number; all: number }): number {
  const now = cpuTimes();
  return Math.round(((now.busy - before.busy) / (now.all - before.all)) * 100);
}

const round = (n: number) => Math.round(n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A short name for a process this benchmark started, from its command line; undefined for wrappers. */
function processName(cmd: string[]): string | undefined {
  if (cmd[0]?.endsWith('bash') || cmd[0]?.endsWith('guard.sh')) return undefined;
  const joined = cmd.join(' ');
  const service = /services\/([a-z-]+)\//.exec(joined);
  if (service) return service[1];
  if (joined.includes('tools/supplier-sim/')) return 'supplier-sim';
  if (joined.includes('bench/peer/')) return 'peer';
  if (joined.includes('ferretdb')) return 'ferretdb';
  if (joined.includes('nats-server')) return 'nats-server';
  return undefined;
}

/** CPU seconds so far of every descendant of this process, by short name (Linux /proc). */
export function descendantCpu(): Record<string, number> {
  const out: Record<string, number> = {};
  const ticks = 100; // USER_HZ on Linux
  const walk = (pid: number) => {
    const taskDir = `/proc/${pid}/task`;
    if (!existsSync(taskDir)) return;
    for (const tid of readdirSync(taskDir)) {
      let kids: string[] = [];
      try {
        kids = readFileSync(`${taskDir}/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      } catch {}
      for (const kid of kids.map(Number)) {
        try {
          const name = processName(readFileSync(`/proc/${kid}/cmdline`, 'utf8').split('\0').filter(Boolean));
          const stat = readFileSync(`/proc/${kid}/stat`, 'utf8');
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          if (name) out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / ticks;
        } catch {}
        walk(kid);
      }
    }
  };
  walk(process.pid);
  return out;
}

export interface CpuMark {
  machine: { busy: number; all: number };
  self: NodeJS.CpuUsage;
  procs: Record<string, number>;
  at: number;
}
export const cpuMark = (): CpuMark => ({ machine: cpuTimes(), self: process.cpuUsage(), procs: descendantCpu(), at: performance.now() });

export interface CpuShare {
  /** % of one core per process (100 = one core busy). */
  percentOfOneCore: Record<string, number>;
  machineBusyPercentOfAllCores: number;
  /** How long the share was measured over. */
  seconds: number;
}

/** CPU use of this process, each process it started, and the rest of the machine since `before`. */
export function cpuSince(before: CpuMark): CpuShare {
  const now = cpuMark();
  const seconds = (now.at - before.at) / 1000;
  const self = process.cpuUsage(before.self);
  const perProcess: Record<string, number> = {
    'load generator (this process)': round(((self.user + self.system) / 1e6 / seconds) * 100),
  };
  for (const [name, cpu] of Object.entries(now.procs)) perProcess[name] = round(((cpu - (before.procs[name] ?? 0)) / seconds) * 100);
  const machineBusy = (now.machine.busy - before.machine.busy) / (now.machine.all - before.machine.all);
  const ours = Object.values(perProcess).reduce((a, b) => a + b, 0);
  // Whatever else runs on this machine (another benchmark, a test run) competes for the same cores.
  perProcess['everything else on the machine'] = Math.max(0, round(machineBusy * os.cpus().length * 100 - ours));
  return { percentOfOneCore: perProcess, machineBusyPercentOfAllCores: round(machineBusy * 100), seconds };
}

/** CPU milliseconds per item (event, request) of each process, `items` handled over the share's time. */
export const cpuPerItemLine = (c: CpuShare, items: number) =>
  Object.entries(c.percentOfOneCore)
    .filter(([, p]) => p > 0)
    .map(([k, p]) => `${k} ${Math.round(((p / 100) * c.seconds * 100_000) / items) / 100}`)
    .join(', ');

export const cpuLine = (c: CpuShare) =>
  `${Object.entries(c.percentOfOneCore)
    .map(([k, p]) => `${k} ${p}`)
    .join(', ')}; machine ${c.machineBusyPercentOfAllCores}% busy (all ${os.cpus().length} cores)`;

/**
 * Waits until each of `names` uses under 3 % of a core for two half-second samples in a row
 * (work queued by the load, such as event consumers catching up, still runs there), or `limitMs`.
 */
export async function waitQuiet(names: string[], limitMs: number): Promise<{ quiet: boolean; seconds: number }> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) / 100) / 10;
  let calm = 0;
  while (performance.now() - started < limitMs) {
    const before = descendantCpu();
    await sleep(500);
    const after = descendantCpu();
    const busiest = Math.max(0, ...names.map((n) => (after[n] ?? 0) - (before[n] ?? 0)));
    calm = busiest / 0.5 < 0.03 ? calm + 1 : 0;
    if (calm >= 2) return { quiet: true, seconds: elapsed() };
  }
  return { quiet: false, seconds: elapsed() };
}
