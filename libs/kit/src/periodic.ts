import type { Logger } from './logger';

/** Work a service repeats on an interval (sweeps, purges), declared with `every`. */
export interface PeriodicTask {
  name: string;
  intervalMs: number;
  run(): Promise<unknown>;
}

/** `every(5000, 'queue-sweep', sweep)`: run `sweep` every 5 s, one run at a time. */
export const every = (intervalMs: number, name: string, run: () => Promise<unknown>): PeriodicTask => ({ name, intervalMs, run });

/**
 * How many times its own last duration a periodic run waits before the next, at least. A sweep
 * that scans a collection gets slower as the collection grows (FerretDB decodes every document
 * of a scan): paced like this, scans take at most a fifth of the database's time however large
 * it gets, instead of running back to back and starving the requests beside them.
 */
export const PACE = 4;

/** When the next run starts after one that took `tookMs`: its interval, or longer after a long run. */
export const nextRunIn = (intervalMs: number, tookMs: number) => Math.max(intervalMs, tookMs * PACE);

/**
 * Starts a task: runs never overlap, the next starts `nextRunIn` after one ends, and a failed
 * run is logged and tried again at the next turn. `stop` waits for a run under way, so it never
 * outlives the connections it uses.
 */
export function startPeriodic(task: PeriodicTask, log: Logger): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (inMs: number) => {
    if (stopped) return;
    timer = setTimeout(run, inMs);
    timer.unref();
  };
  const run = () => {
    const started = Date.now();
    running = task
      .run()
      .then(() => undefined)
      .catch((error) => log.warn({ err: error, task: task.name }, 'periodic task failed; will retry'))
      .finally(() => {
        running = undefined;
        schedule(nextRunIn(task.intervalMs, Date.now() - started));
      });
  };
  schedule(task.intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
