import type { DeliveryAttempt } from '@allot/contracts';
import type { Clock, Logger } from '@allot/kit';
import type { FairSlots } from './domain/fair-slots';
import { outcomeOf, retryDelayMs } from './domain/retry';
import type { PostResult } from './http-post';
import type { DeliveryDoc, DeliveryStore } from './store/deliveries';
import type { EndpointDoc } from './store/endpoints';

export interface DispatcherDeps {
  clock: Clock;
  log: Logger;
  deliveries: DeliveryStore;
  endpoint(id: string): Promise<EndpointDoc | null>;
  /** The headers that sign one attempt. */
  headers(endpoint: EndpointDoc, messageId: string, at: Date, body: string): Record<string, string>;
  post(url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<PostResult>;
  /** The endpoint's health after an attempt: healthy, failing since `at`, or disabled (410, or failing too long). */
  health: {
    healthy(endpoint: EndpointDoc): Promise<void>;
    failing(endpoint: EndpointDoc, at: Date): Promise<void>;
    disable(endpoint: EndpointDoc, reason: 'gone' | 'failing'): Promise<void>;
  };
  slots: FairSlots;
  /** Closes the kept-alive connections, once stopped. */
  close(): void;
  settings: {
    endpointConcurrency: number;
    timeoutMs: number;
    schedule: readonly number[];
    disableAfterMs: number;
    pollMs: number;
  };
}

interface EndpointQueue {
  /** Deliveries with an attempt in flight. */
  inFlight: Set<string>;
  filling: boolean;
  /** Woken while filling: look again when done. */
  again: boolean;
}

/** A retry due within this long gets a timer here; later ones are found by the poll. */
const TIMER_HORIZON_MS = 10 * 60_000;
/** A lease outlives its attempt (bounded by the timeout) with room to spare: only a crashed process's lease runs out. */
const leaseMs = (timeoutMs: number) => 2 * timeoutMs + 5000;

/**
 * Delivers due deliveries, endpoint by endpoint (the service's README.md, Delivery). Each
 * endpoint has its own queue with at most `endpointConcurrency` attempts in flight, so a slow or
 * hanging endpoint holds only its own slots; slots of the whole process are shared between
 * tenants fairly (`FairSlots`). A delivery is claimed with a lease before its attempt and
 * settled after it; a process that dies mid-attempt leaves a lease that runs out, and the
 * delivery is attempted again (at least once; the receiver dedupes by `webhook-id`).
 */
export class Dispatcher {
  private readonly queues = new Map<string, EndpointQueue>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly attempts = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private poll: NodeJS.Timeout | undefined;

  constructor(private readonly deps: DispatcherDeps) {}

  /** Looks for due deliveries of an endpoint now (a new event, a resend, a retry's time). */
  wake(endpointId: string): void {
    if (this.stopping.signal.aborted) return;
    let queue = this.queues.get(endpointId);
    if (!queue) {
      queue = { inFlight: new Set(), filling: false, again: false };
      this.queues.set(endpointId, queue);
    }
    if (queue.filling) {
      queue.again = true;
      return;
    }
    void this.fill(endpointId, queue).catch((error) =>
      this.deps.log.warn({ err: error, endpointId }, 'dispatching failed; the poll retries'),
    );
  }

  /** Wakes an endpoint at `at` (one timer per endpoint, at its earliest due time). */
  wakeAt(endpointId: string, at: Date): void {
    const due = at.getTime();
    const wait = due - this.deps.clock.now().getTime();
    if (wait > TIMER_HORIZON_MS || this.stopping.signal.aborted) return;
    const current = this.timers.get(endpointId);
    if (current && current.at <= due) return;
    if (current) clearTimeout(current.timer);
    const timer = setTimeout(
      () => {
        this.timers.delete(endpointId);
        this.wake(endpointId);
      },
      Math.max(0, wait),
    );
    this.timers.set(endpointId, { at: due, timer });
  }

  /** Starts looking for due deliveries every `pollMs` (retries far ahead, another process's leftovers). */
  start(): void {
    this.poll = setInterval(() => {
      this.deps.deliveries
        .endpointsWithDue(this.deps.clock.now())
        .then((ids) => {
          for (const id of ids) this.wake(id);
        })
        .catch((error) => this.deps.log.warn({ err: error }, 'looking for due deliveries failed; will retry'));
    }, this.deps.settings.pollMs);
    this.poll.unref();
  }

  /** Attempts in flight now (all endpoints). */
  get inFlight(): number {
    return this.attempts.size;
  }

  /**
   * Stops: no new attempts; those in flight are cut short and handed back (their deliveries are
   * due again at once, for whichever process runs next), so stopping never waits on an endpoint.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.poll) clearInterval(this.poll);
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.attempts]);
    this.deps.close();
  }

  private async fill(endpointId: string, queue: EndpointQueue): Promise<void> {
    const { deliveries, clock, settings, slots } = this.deps;
    queue.filling = true;
    try {
      do {
        queue.again = false;
        const free = settings.endpointConcurrency - queue.inFlight.size;
        if (free <= 0) break;
        const endpoint = await this.deps.endpoint(endpointId);
        if (!endpoint?.enabled) break;
        const due = await deliveries.due(endpointId, clock.now(), free, [...queue.inFlight]);
        for (const delivery of due) {
          const release = await slots.acquire(endpoint.tenantId);
          if (this.stopping.signal.aborted) {
            release();
            return;
          }
          const now = clock.now();
          const lease = new Date(now.getTime() + leaseMs(settings.timeoutMs));
          if (!(await deliveries.claim(delivery, now, lease))) {
            release();
            continue;
          }
          queue.inFlight.add(delivery._id);
          const attempt = this.attempt(endpoint, delivery, lease)
            .catch((error) => this.deps.log.error({ err: error, endpointId, messageId: delivery.messageId }, 'attempt failed to settle'))
            .finally(() => {
              release();
              queue.inFlight.delete(delivery._id);
              this.attempts.delete(attempt);
              this.wake(endpointId);
            });
          this.attempts.add(attempt);
        }
        if (due.length === free) queue.again = true; // there may be more
      } while (queue.again && !this.stopping.signal.aborted);
    } finally {
      queue.filling = false;
      if (queue.inFlight.size === 0 && !queue.again) this.queues.delete(endpointId);
    }
  }

  private async attempt(endpoint: EndpointDoc, delivery: DeliveryDoc, lease: Date): Promise<void> {
    const { clock, settings, deliveries, health } = this.deps;
    const at = clock.now();
    const headers = this.deps.headers(endpoint, delivery.messageId, at, delivery.body);
    const result = await this.deps.post(endpoint.url, headers, delivery.body, this.stopping.signal);
    if (this.stopping.signal.aborted && result.statusCode === null) {
      // Cut short by the stop: no attempt to record; due again for whoever runs next.
      await deliveries.docs.updateOne({ _id: delivery._id, leaseUntil: lease }, { $set: { leaseUntil: null } });
      return;
    }
    const now = clock.now();
    const outcome = outcomeOf(result.statusCode, result.retryAfter, now);
    const record: DeliveryAttempt = {
      at: at.toISOString(),
      statusCode: result.statusCode,
      durationMs: result.durationMs,
      error: result.error,
      response: result.response,
    };
    const attempts = delivery.scheduleAttempts + 1;
    if (outcome.kind === 'delivered') {
      await deliveries.settle(delivery, lease, record, { status: 'delivered', nextAttemptAt: null, scheduleAttempts: attempts });
      if (endpoint.failingSince) await health.healthy(endpoint);
      return;
    }
    const step = retryDelayMs(attempts, settings.schedule, Math.random());
    const wait =
      step === undefined ? undefined : outcome.kind === 'failed' && outcome.retryAfterMs !== undefined ? outcome.retryAfterMs : step;
    const nextAttemptAt = wait === undefined ? null : new Date(now.getTime() + wait);
    await deliveries.settle(delivery, lease, record, {
      status: nextAttemptAt ? 'failed' : 'exhausted',
      nextAttemptAt,
      scheduleAttempts: attempts,
    });
    if (nextAttemptAt) this.wakeAt(endpoint._id, nextAttemptAt);
    if (outcome.kind === 'gone') return health.disable(endpoint, 'gone');
    if (!endpoint.failingSince) return health.failing(endpoint, at);
    if (now.getTime() - endpoint.failingSince.getTime() >= settings.disableAfterMs) return health.disable(endpoint, 'failing');
  }
}
