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

/** How many times its own duration a whole-collection scan waits (`ScanPace`), at least. */
const SCAN_PACE = 20;

/**
 * When a backstop that reads a whole collection (on its own timer, or within a periodic run that
 * does other work too) is due again: every `everyMs` at least, and after a scan that took longer
 * than a twentieth of that, twenty times that scan's duration. Such scans look for the few
 * documents a crash left; on FerretDB each one decodes every document (an indexed filter does not
 * help there): a scan of 100,000 bookings took 4–13 s, and at a fixed 30 s the backstops took a
 * third of the database's time from the work they back up (a report's read, an import's writes).
 */
export class ScanPace {
  private lastStart = 0;
  private interval: number;

  constructor(private readonly everyMs: number) {
    this.interval = everyMs;
  }

  /** Whether a scan is due now: never run yet, or its interval has passed since the last began. */
  due(): boolean {
    return this.lastStart === 0 || Date.now() - this.lastStart >= this.interval;
  }

  /** Records a scan that began at `startedAt` (ms) and has just ended. */
  ran(startedAt: number): void {
    this.lastStart = startedAt;
    this.interval = Math.max(this.everyMs, (Date.now() - startedAt) * SCAN_PACE);
  }

  /** Makes the next scan due at once (the last one stopped at a page limit: there may be more). */
  again(): void {
    this.lastStart = 0;
  }
}

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
