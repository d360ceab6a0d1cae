import { setMaxListeners } from 'node:events';
import type { DeliveryAttempt } from '@allot/contracts';
import { type Clock, type Logger, newId, ScanPace } from '@allot/kit';
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
  /** Deliveries this process stored already leased to itself (`reserve`), waiting for a slot. */
  ready: { doc: DeliveryDoc; lease: Date }[];
  /** Deliveries with an attempt in flight. */
  inFlight: Set<string>;
  /** Due deliveries may wait in the database (a retry's time, a resend, the poll, an overflow): look there. */
  stored: boolean;
  filling: boolean;
  /** Woken while filling: look again when done. */
  again: boolean;
  /** First attempts waiting for a slot of this endpoint (`tryFirst`): called when one is freed. */
  waiters: Set<() => void>;
}

/** What the fan-out stores for a new delivery whose first attempt started before it was stored (`tryFirst`). */
export interface FirstAttempt {
  /** The delivery as it is to be stored: settled if the answer came within `FIRST_ANSWER_WAIT_MS`, else leased to this process. */
  doc: DeliveryDoc;
  /** Whether the fan-out's insert stored it (false: it was there already, or the insert failed); called once, always. */
  stored(created: boolean): void;
}

/**
 * How long the fan-out waits for a first attempt's answer. Past it the delivery is stored leased
 * and the attempt settles it later; an endpoint that took longer is not tried first again until
 * one of its attempts answers within it, so a slow or hanging endpoint holds the fan-out only
 * once, for at most this long per slot.
 */
export const FIRST_ANSWER_WAIT_MS = 500;

/** A retry due within this long gets a timer here; later ones are found by the poll. */
const TIMER_HORIZON_MS = 10 * 60_000;
/** A lease outlives its attempt (bounded by the timeout) with room to spare: only a crashed process's lease runs out. */
const leaseMs = (timeoutMs: number) => 2 * timeoutMs + 5000;
/** Leased deliveries an endpoint's queue holds in memory, per slot of it. */
const READY_PER_SLOT = 32;

/**
 * Delivers due deliveries, endpoint by endpoint (the service's README.md, Delivery). Each
 * endpoint has its own queue with at most `endpointConcurrency` attempts in flight, so a slow or
 * hanging endpoint holds only its own slots; slots of the whole process are shared between
 * tenants fairly (`FairSlots`). A delivery is claimed with a lease before its attempt and
 * settled after it; a process that dies mid-attempt leaves a lease that runs out, and the
 * delivery is attempted again (at least once; the receiver dedupes by `webhook-id`).
 *
 * New deliveries skip the claim: the fan-out stores them already leased to this process
 * (`reserve`) and hands them over (`enqueue`), so a delivery costs two writes, its insert and its
 * settle. An endpoint holds at most `READY_PER_SLOT` of those per slot; beyond that (a slow
 * endpoint) new ones are stored unleased and wait in the database, and a held one whose lease
 * would not outlast its attempt by the time its turn comes has the lease renewed.
 */
export class Dispatcher {
  private readonly queues = new Map<string, EndpointQueue>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly attempts = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private poll: NodeJS.Timeout | undefined;
  /** Names this process's claims (`DeliveryStore.claim`). */
  private readonly mark = newId('dsp');
  private claims = 0;
  /** By endpoint, when the last lease left to run out here (`launch`) ends: its queue looks again then. */
  private readonly lapsing = new Map<string, number>();
  /** Endpoints whose last attempt here did not answer within `FIRST_ANSWER_WAIT_MS`: not tried first. */
  private readonly slow = new Set<string>();

  constructor(private readonly deps: DispatcherDeps) {
    // Every attempt in flight listens for the stop.
    setMaxListeners(0, this.stopping.signal);
  }

  /**
   * The lease a new delivery of this endpoint should be stored with, to be handed over with
   * `enqueue`; null when the endpoint's queue holds enough already (store it unleased).
   */
  reserve(endpointId: string): Date | null {
    if (this.stopping.signal.aborted) return null;
    const queue = this.queues.get(endpointId);
    const held = queue ? queue.ready.length + queue.inFlight.size : 0;
    if (held >= READY_PER_SLOT * this.deps.settings.endpointConcurrency) return null;
    return new Date(this.deps.clock.now().getTime() + leaseMs(this.deps.settings.timeoutMs));
  }

  /** The claim a delivery stored with a lease from `reserve` carries (so a stop can hand it back). */
  get heldClaim(): string {
    return `${this.mark}-held`;
  }

  /** Takes over a delivery stored with a lease from `reserve`. */
  enqueue(endpointId: string, doc: DeliveryDoc, lease: Date): void {
    if (this.stopping.signal.aborted) return;
    this.queueOf(endpointId).ready.push({ doc, lease });
    this.pump(endpointId);
  }

  /**
   * Starts the first attempt of a new delivery before it is stored, if the endpoint has not been
   * slow and has a free slot (of its own, waited for up to `FIRST_ANSWER_WAIT_MS`; of the
   * tenant's, now and without jumping a waiting tenant); null otherwise (store it first, as
   * `reserve` says). Then resolves within `FIRST_ANSWER_WAIT_MS` with what to store: the settled
   * delivery when the answer came in time
   * — one write instead of an insert and a settle — else the delivery leased to this process,
   * which the attempt settles once it is stored. Until the fan-out stores it and acknowledges the
   * event, the unacknowledged event is the record: a crash meanwhile delivers the event again, and
   * the fan-out stores its deliveries first on a redelivery.
   */
  async tryFirst(endpoint: EndpointDoc, doc: DeliveryDoc): Promise<FirstAttempt | null> {
    const queue = this.queueOf(endpoint._id);
    const deadline = performance.now() + FIRST_ANSWER_WAIT_MS;
    let release: (() => void) | null = null;
    // Checked and taken in one turn of the event loop, so first attempts never overfill the endpoint.
    while (!this.stopping.signal.aborted && !this.slow.has(endpoint._id) && !queue.ready.length) {
      // An idle queue may have been forgotten while this waited: keep this one, unless another replaced it.
      if ((this.queues.get(endpoint._id) ?? this.queues.set(endpoint._id, queue).get(endpoint._id)) !== queue) break;
      if (queue.inFlight.size < this.deps.settings.endpointConcurrency) {
        release = this.deps.slots.tryAcquire(endpoint.tenantId);
        break;
      }
      if (!(await this.slotFreed(queue, deadline))) break;
    }
    if (!release) {
      this.pump(endpoint._id); // forgets the queue if nothing else uses it
      return null;
    }
    const done = this.occupy(endpoint._id, queue, doc._id, release);
    return this.first(endpoint, doc, done).catch((error) => {
      done();
      throw error;
    });
  }

  /**
   * Waits until an attempt of the endpoint ends (a fast endpoint frees a slot within milliseconds,
   * so a burst to it goes out as first attempts rather than through the database), or until
   * `deadline`: then false.
   */
  private async slotFreed(queue: EndpointQueue, deadline: number): Promise<boolean> {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    return new Promise<boolean>((resolve) => {
      const wake = (freed: boolean) => {
        clearTimeout(timer);
        queue.waiters.delete(woken);
        resolve(freed);
      };
      const woken = () => wake(true);
      const timer = setTimeout(() => wake(false), left);
      queue.waiters.add(woken);
    });
  }

  /** An attempt of the endpoint ended: the first attempt waiting longest for a slot looks again. */
  private freed(queue: EndpointQueue): void {
    const [next] = queue.waiters;
    next?.();
  }

  private async first(endpoint: EndpointDoc, doc: DeliveryDoc, done: () => void): Promise<FirstAttempt> {
    const { clock, settings } = this.deps;
    const lease = new Date(clock.now().getTime() + leaseMs(settings.timeoutMs));
    const at = clock.now();
    const sending = this.send(endpoint, doc, at);
    let waiting: NodeJS.Timeout | undefined;
    const answer = await Promise.race([
      sending,
      new Promise<null>((resolve) => {
        waiting = setTimeout(() => resolve(null), FIRST_ANSWER_WAIT_MS);
      }),
    ]);
    clearTimeout(waiting);
    if (answer && this.stopping.signal.aborted && answer.statusCode === null) {
      // Cut short by the stop: stored as it is, due for whoever runs next.
      done();
      return { doc, stored: () => {} };
    }
    if (answer) {
      // The endpoint answered: its slot is free again while the fan-out stores the outcome.
      done();
      const { record, next, after } = this.outcome(endpoint, doc, at, answer);
      return {
        doc: { ...doc, ...next, attempts: [record], leaseUntil: null },
        stored: (created) => {
          if (created) this.track(after(), endpoint, doc);
        },
      };
    }
    // No answer yet: stored leased to this process; the attempt settles it once stored.
    this.slow.add(endpoint._id);
    const held: DeliveryDoc = { ...doc, leaseUntil: lease, claim: this.heldClaim };
    let stored!: (created: boolean) => void;
    const isStored = new Promise<boolean>((resolve) => {
      stored = resolve;
    });
    const rest = (async () => {
      const result = await sending;
      if (!(await isStored)) return;
      if (this.stopping.signal.aborted && result.statusCode === null) return this.deps.deliveries.release(held, lease);
      await this.finish(endpoint, held, lease, at, result);
    })().finally(done);
    this.track(rest, endpoint, doc);
    return { doc: held, stored };
  }

  /** Keeps an attempt's remaining work in `attempts` (a stop waits for it) and logs its failure. */
  private track(work: Promise<void>, endpoint: EndpointDoc, delivery: DeliveryDoc): void {
    const tracked: Promise<void> = work
      .catch((error) =>
        this.deps.log.error({ err: error, endpointId: endpoint._id, messageId: delivery.messageId }, 'attempt failed to settle'),
      )
      .finally(() => this.attempts.delete(tracked));
    this.attempts.add(tracked);
  }

  private queueOf(endpointId: string): EndpointQueue {
    let queue = this.queues.get(endpointId);
    if (!queue) {
      queue = { ready: [], inFlight: new Set(), stored: false, filling: false, again: false, waiters: new Set() };
      this.queues.set(endpointId, queue);
    }
    return queue;
  }

  /** Looks for due deliveries of an endpoint in the database now (a resend, a retry's time, the poll). */
  wake(endpointId: string): void {
    if (this.stopping.signal.aborted) return;
    this.queueOf(endpointId).stored = true;
    this.pump(endpointId);
  }

  /** Starts what the endpoint's queue has room for: held deliveries, then stored ones if `stored` says so. */
  private pump(endpointId: string): void {
    if (this.stopping.signal.aborted) return;
    const queue = this.queueOf(endpointId);
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

  /**
   * Starts looking for due deliveries every `pollMs` (retries far ahead, another process's
   * leftovers), paced as the kit paces whole-collection scans (`ScanPace`): where the look is a
   * scan of every delivery (FerretDB uses no secondary index), a large collection makes it rarer
   * instead of keeping the database busy with it.
   */
  start(): void {
    const pace = new ScanPace(this.deps.settings.pollMs);
    const schedule = () => {
      if (this.stopping.signal.aborted) return;
      this.poll = setTimeout(() => {
        if (!pace.due()) return schedule();
        const started = Date.now();
        void this.deps.deliveries
          .endpointsWithDue(this.deps.clock.now())
          .then((ids) => {
            for (const id of ids) this.wake(id);
          })
          .catch((error) => {
            // Stopped meanwhile: the connection closed under it, and nobody needs its answer.
            if (!this.stopping.signal.aborted) this.deps.log.warn({ err: error }, 'looking for due deliveries failed; will retry');
          })
          .finally(() => {
            pace.ran(started);
            schedule();
          });
      }, this.deps.settings.pollMs);
      this.poll.unref();
    };
    schedule();
  }

  /** Attempts in flight now (all endpoints). */
  get inFlight(): number {
    return this.attempts.size;
  }

  /**
   * Stops: no new attempts; those in flight are cut short and handed back (their deliveries are
   * due again at once, for whichever process runs next), so stopping never waits on an endpoint;
   * so are the ones held and not attempted yet. Nor does it wait for the poll's look in the
   * database: where that is a scan (FerretDB under load: up to 27 s seen), waiting for it made a
   * stop overrun the process's stop budget, and what it finds is for a dispatcher that has stopped.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.poll);
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.attempts]);
    for (const queue of this.queues.values()) queue.ready.length = 0;
    await this.deps.deliveries
      .releaseHeld(this.mark, this.deps.clock.now())
      .catch((error) => this.deps.log.warn({ err: error }, 'handing back held deliveries failed; their leases will run out'));
    this.deps.close();
  }

  private async fill(endpointId: string, queue: EndpointQueue): Promise<void> {
    const { deliveries, clock, settings } = this.deps;
    queue.filling = true;
    try {
      do {
        queue.again = false;
        if (settings.endpointConcurrency - queue.inFlight.size <= 0) break;
        // Nothing held or waiting in the database (most first attempts end so): no endpoint read.
        if (!queue.ready.length && !queue.stored) break;
        const endpoint = await this.deps.endpoint(endpointId);
        if (!endpoint?.enabled) {
          queue.ready.length = 0; // their leases run out; the deliveries wait in the database
          break;
        }
        // First what this process stored leased to itself, then what is due in the database.
        while (queue.ready.length && queue.inFlight.size < settings.endpointConcurrency) {
          const { doc, lease } = queue.ready.shift() as EndpointQueue['ready'][number];
          if (!(await this.launch(endpoint, queue, doc, lease))) return;
        }
        const free = settings.endpointConcurrency - queue.inFlight.size;
        if (free <= 0 || !queue.stored) break;
        queue.stored = false;
        // Claimed together, as many as the queue holds: the ones without a slot wait in `ready`.
        const room = Math.max(free, READY_PER_SLOT * settings.endpointConcurrency - queue.ready.length - queue.inFlight.size);
        const looked = clock.now();
        const due = await deliveries.due(endpointId, looked, room, [...queue.inFlight]);
        const lease = new Date(clock.now().getTime() + leaseMs(settings.timeoutMs));
        const claimed = await deliveries.claim(due, clock.now(), lease, `${this.mark}-${++this.claims}`);
        // Leases left to run out that ended after this look began: look again once the last has.
        const lapsing = this.lapsing.get(endpointId);
        if (lapsing !== undefined && lapsing > looked.getTime()) this.wakeAt(endpointId, new Date(lapsing));
        else this.lapsing.delete(endpointId);
        queue.ready.push(...claimed.map((doc) => ({ doc, lease })));
        if (due.length === room)
          queue.stored = queue.again = true; // there may be more
        else if (claimed.length) queue.again = true; // start what was claimed
      } while ((queue.again || queue.ready.length) && !this.stopping.signal.aborted);
    } finally {
      queue.filling = false;
      if (queue.inFlight.size === 0 && queue.ready.length === 0 && queue.waiters.size === 0 && !queue.again && !queue.stored)
        this.queues.delete(endpointId);
    }
  }

  /**
   * Counts a delivery's attempt in its endpoint's slots (the tenant's slot is `release`); the
   * function returned frees them once, however often it is called, and lets the queue go on.
   */
  private occupy(endpointId: string, queue: EndpointQueue, deliveryId: string, release: () => void): () => void {
    queue.inFlight.add(deliveryId);
    let freed = false;
    return () => {
      if (freed) return;
      freed = true;
      release();
      queue.inFlight.delete(deliveryId);
      this.freed(queue);
      this.pump(endpointId);
    };
  }

  /**
   * Starts one attempt of a delivery this process holds a lease on, once the tenant has a slot.
   * False when the dispatcher is stopping.
   */
  private async launch(endpoint: EndpointDoc, queue: EndpointQueue, delivery: DeliveryDoc, lease: Date): Promise<boolean> {
    const { clock, settings, slots } = this.deps;
    const release = await slots.acquire(endpoint.tenantId);
    if (this.stopping.signal.aborted) {
      release();
      return false;
    }
    // A lease that would not outlast the attempt (the delivery waited long for a slot) is renewed:
    // left to run out, the delivery would sit idle until it had, then be claimed again.
    let held = lease;
    if (lease.getTime() - clock.now().getTime() <= settings.timeoutMs + 2000) {
      const renewed = new Date(clock.now().getTime() + leaseMs(settings.timeoutMs));
      const ours = await this.deps.deliveries.renew(delivery, lease, renewed).catch((error) => {
        this.deps.log.warn({ err: error, endpointId: endpoint._id }, 'renewing a lease failed; it is left to run out');
        return null;
      });
      if (ours === null) {
        // The queue looks in the database as the lease ends (rather than only at the poll).
        this.lapsing.set(endpoint._id, Math.max(this.lapsing.get(endpoint._id) ?? 0, lease.getTime()));
        this.wakeAt(endpoint._id, lease);
      }
      if (!ours) {
        release(); // not renewed, or no longer ours (handed back by a stop)
        return true;
      }
      held = renewed;
    }
    // The slots are the endpoint's and the tenant's requests in flight: freed once the endpoint
    // answered, not after the outcome is written (under load, a write can take longer than a request).
    const free = this.occupy(endpoint._id, queue, delivery._id, release);
    const attempt = this.attempt(endpoint, delivery, held, free)
      .catch((error) =>
        this.deps.log.error({ err: error, endpointId: endpoint._id, messageId: delivery.messageId }, 'attempt failed to settle'),
      )
      .finally(() => {
        free();
        this.attempts.delete(attempt);
      });
    this.attempts.add(attempt);
    return true;
  }

  private async attempt(endpoint: EndpointDoc, delivery: DeliveryDoc, lease: Date, answered: () => void): Promise<void> {
    const at = this.deps.clock.now();
    const result = await this.send(endpoint, delivery, at);
    answered();
    if (this.stopping.signal.aborted && result.statusCode === null) {
      // Cut short by the stop: no attempt to record; due again for whoever runs next.
      await this.deps.deliveries.release(delivery, lease);
      return;
    }
    await this.finish(endpoint, delivery, lease, at, result);
  }

  /** POSTs one attempt, signed at `at`; notes whether the endpoint answered within `FIRST_ANSWER_WAIT_MS`. */
  private async send(endpoint: EndpointDoc, delivery: DeliveryDoc, at: Date): Promise<PostResult> {
    const headers = this.deps.headers(endpoint, delivery.messageId, at, delivery.body);
    const result = await this.deps.post(endpoint.url, headers, delivery.body, this.stopping.signal);
    if (result.statusCode !== null && result.durationMs < FIRST_ANSWER_WAIT_MS) this.slow.delete(endpoint._id);
    else if (!this.stopping.signal.aborted) this.slow.add(endpoint._id);
    return result;
  }

  /** Settles an attempt of a delivery this process holds a lease on, then what follows for the endpoint. */
  private async finish(endpoint: EndpointDoc, delivery: DeliveryDoc, lease: Date, at: Date, result: PostResult): Promise<void> {
    const { record, next, after } = this.outcome(endpoint, delivery, at, result);
    await this.deps.deliveries.settle(delivery, lease, record, next);
    await after();
  }

  /**
   * What an answer means for a delivery: the attempt's record, the delivery's next state, and what
   * to do once that is stored (the retry's timer, the endpoint's health).
   */
  private outcome(endpoint: EndpointDoc, delivery: DeliveryDoc, at: Date, result: PostResult) {
    const { clock, settings, health } = this.deps;
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
      const next = { status: 'delivered' as const, nextAttemptAt: null, scheduleAttempts: attempts };
      return { record, next, after: async () => (endpoint.failingSince ? health.healthy(endpoint) : undefined) };
    }
    const step = retryDelayMs(attempts, settings.schedule, Math.random());
    const wait =
      step === undefined ? undefined : outcome.kind === 'failed' && outcome.retryAfterMs !== undefined ? outcome.retryAfterMs : step;
    const nextAttemptAt = wait === undefined ? null : new Date(now.getTime() + wait);
    const next = { status: nextAttemptAt ? ('failed' as const) : ('exhausted' as const), nextAttemptAt, scheduleAttempts: attempts };
    const after = async () => {
      if (nextAttemptAt) this.wakeAt(endpoint._id, nextAttemptAt);
      if (outcome.kind === 'gone') return health.disable(endpoint, 'gone');
      if (!endpoint.failingSince) return health.failing(endpoint, at);
      if (now.getTime() - endpoint.failingSince.getTime() >= settings.disableAfterMs) return health.disable(endpoint, 'failing');
    };
    return { record, next, after };
  }
}
