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
