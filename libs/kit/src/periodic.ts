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
 * Starts a task: a run that is still going when the next is due is not overlapped, and a failed
 * run is logged and tried again at the next interval. `stop` waits for a run under way, so it
 * never outlives the connections it uses.
 */
export function startPeriodic(task: PeriodicTask, log: Logger): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= task
      .run()
      .then(() => undefined)
      .catch((error) => log.warn({ err: error, task: task.name }, 'periodic task failed; will retry'))
      .finally(() => {
        running = undefined;
      });
  }, task.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
