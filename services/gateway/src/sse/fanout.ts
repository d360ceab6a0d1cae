import type { BackgroundWork, Logger } from '@allot/kit';
import {
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { CLIENT_STREAM, EVENT_HEADER } from './client-messages';
import { type EventId, eventIdOf, startTimeOf } from './event-ids';

/** One SSE connection's interest: its tenant, its channel filter, and how to write to it. */
export interface Listener {
  tenantId: string;
  matches(tokens: string[]): boolean;
  /**
   * Writes one complete SSE frame (`id: …\nevent: …\ndata: …\n\n`, UTF-8). The same buffer is
   * handed to every listener of a message, so it must not be modified. Must not throw; a
   * connection that cannot take it closes itself.
   */
  send(frame: Uint8Array): void;
  /** Ends the connection (the gateway is shutting down, or a write failed). */
  close(): void;
  /**
   * Ends the connection because it fell too far behind while replaying: the client must resume
   * from `lastEventId`, the last id it was sent (or the one it resumed from).
   */
  resume(lastEventId: EventId): void;
  /**
   * Undefined while the connection takes more at once; otherwise a promise that settles when
   * its backlog has drained (or it is gone). A replay waits for it, so a long replay goes at
   * the client's pace instead of piling up in memory; live messages never wait for one client.
   */
  ready?(): Promise<void> | undefined;
}

/**
 * A message of the `CLIENT` stream (see `client-messages.ts`) as the fan-out hands it on, with
 * its SSE id: its frame is serialised once, on first use.
 */
interface SseMessage {
  /** The SSE id (see `event-ids.ts`): increasing in stream order. */
  id: EventId;
  /** Subject tokens after `client.<tenantId>.`. */
  tokens: string[];
  event: string;
  /** The data as JSON on one line: the message's body as the projector stored it. */
  json: Uint8Array;
  frame?: Uint8Array;
}

/** A listener as the fan-out tracks it (the listener itself is used as given: its methods may use `this`). */
interface Registered {
  tenantId: string;
  listener: Listener;
  lastSent: EventId;
  closed: boolean;
  /** Live messages held back while the listener replays what it missed. */
  buffer: SseMessage[] | undefined;
}

/** What `register` returns, for `unregister`: opaque to the caller. */
export type Registration = { readonly tenantId: string };

/**
 * Live messages of one tenant on their way to its listeners: one message, or (when messages
 * queued up behind a delivery) several, which each listener then gets in one write.
 */
interface Delivery {
  messages: SseMessage[];
  tenantId: string;
  /** The tenant's listeners when this delivery began, and how far it got. */
  targets?: Registered[];
  next: number;
  /** The bytes each listener is sent, by which of the messages it matched (a bit per message). */
  frames?: Map<number, Uint8Array>;
}

/** How long one turn of delivery may hold the event loop before it yields (ms). */
const SLICE_MS = 8;
/** Messages one delivery may carry (a bit each in a 32-bit mask: see `Delivery.frames`). */
const MAX_BATCH = 32;
/** Live messages waiting for delivery beyond which the fan-out stops reading new ones. */
const MAX_QUEUED = 1_000;
/** Pause before the live consumer is made again after it ended or failed (ms). */
const RESTART_DELAY_MS = 500;
/** How often the stream's last sequence is compared with the last one read (see `watchProgress`). */
const PROGRESS_CHECK_MS = 5000;
/** Newer messages stored and none read for this long: the live consumer has stalled. */
const STALLED_AFTER_MS = 10_000;

export interface FanoutOptions {
  /** Live messages a replaying listener may hold back before it is told to resume later. */
  maxHeldPerListener: number;
}

/**
 * `id: 42\nevent: availability.updated\ndata: {…}\n\n`, the bytes every listener gets: the
 * data's JSON bytes copied once between the head and the end, never parsed or encoded again.
 */
export function sseFrame(id: EventId, event: string | undefined, json: Uint8Array): Uint8Array {
  // An event name never has a line break, but a stray CR/LF would end the field early: dropped.
  const name = event ? event.replace(/[\r\n]/g, '') : '';
  const head = name ? `id: ${id}\nevent: ${name}\ndata: ` : `id: ${id}\ndata: `;
  const headBytes = Buffer.byteLength(head);
  const frame = Buffer.allocUnsafe(headBytes + json.length + 2);
  frame.write(head, 0);
  frame.set(json, headBytes);
  frame.write('\n\n', headBytes + json.length);
  return frame;
}

const LF = 10;
const CR = 13;
const encoder = new TextEncoder();

/**
 * A client message's event name and data JSON: the body as it is when the projector stored it
 * with its event header (see `encodeClientMessage`); the earlier `{ event, data }` body is parsed
 * and its data encoded. Undefined for a body that cannot be one `data:` line (skipped, live or
 * replayed alike).
 */
function parse(msg: JsMsg): { event: string; json: Uint8Array } | undefined {
  const event = msg.headers?.get(EVENT_HEADER);
  if (event) return msg.data.includes(LF) || msg.data.includes(CR) ? undefined : { event, json: msg.data };
  try {
    const body = msg.json<{ event: string; data: unknown }>();
    return { event: body.event, json: encoder.encode(JSON.stringify(body.data) ?? 'null') };
  } catch {
    return undefined;
  }
}

const NO_BYTES = new Uint8Array(0);

const frameOf = (message: SseMessage) => {
  if (!message.frame) {
    message.frame = sseFrame(message.id, message.event, message.json);
    message.json = NO_BYTES; // in the frame now; the body (maybe a view of a larger read buffer) is let go
  }
  return message.frame;
};

/**
 * The frames of the messages of `delivery` that `mask` names, in order, as one buffer made once
 * per mask (a delivery of one message is its frame: no map for it).
 */
function framesOf(delivery: Pick<Delivery, 'messages' | 'frames'>, mask: number): Uint8Array {
  if (delivery.messages.length === 1) return frameOf(delivery.messages[0] as SseMessage);
  delivery.frames ??= new Map();
  let bytes = delivery.frames.get(mask);
  if (!bytes) {
    const chosen = delivery.messages.filter((_, i) => mask & (1 << i)).map(frameOf);
    bytes = chosen.length === 1 ? (chosen[0] as Uint8Array) : Buffer.concat(chosen);
    delivery.frames.set(mask, bytes);
  }
  return bytes;
}

/**
 * Delivers client messages to this replica's SSE connections. One ordered consumer per replica
 * reads new messages of the `CLIENT` stream and hands each to the listeners of its tenant, so
 * connections hold no NATS resources of their own; a reconnecting listener first replays what
 * it missed (a short-lived ordered consumer from its `Last-Event-ID`), then goes live with
 * duplicates dropped by sequence.
 *
 * Each message is serialised once, whatever the number of listeners, and delivered in turns of
 * at most `SLICE_MS` that yield to the event loop in between, so a burst to thousands of
 * connections never stalls the process; messages go out strictly one after another, so every
 * connection sees them in stream order. Messages of a tenant that queued up while a delivery was
 * under way go out together (up to `MAX_BATCH`): each listener gets those it matches in one
 * write. A hot channel's updates then cost a write per connection per delivery, not per
 * message, so when messages come faster than a fan-out can write them, each fan-out carries
 * more of them instead of the queue (and every message's delay) growing. A message that comes
 * while its tenant's delivery is under way also rides along with it to the listeners it has yet
 * to reach (see `join`).
 *
 * The live consumer is made again whenever it ends or fails (e.g. its consumer or the stream was
 * deleted), from the time of the last message it delivered, with what it already delivered
 * dropped by id; so a restart loses nothing and repeats nothing. A replaying listener holds back
 * at most `maxHeldPerListener` live messages; past that it is told to resume later, so a slow
 * client costs a bounded amount of memory and still misses nothing.
 */
export class Fanout {
  private readonly listeners = new Map<string, Set<Registered>>();
  private readonly queue: Delivery[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private pumping = false;
  private drained: (() => void)[] = [];
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private live: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  /** The id of the last live message read, where a restarted consumer carries on. */
  private lastRead: EventId | undefined;
  private readonly startedAt = new Date();
  private restarts = 0;
  /** The stream sequence of the last live message read, and when one was last read. */
  private lastSeq = 0;
  private lastReadAt = Date.now();
  private progress: NodeJS.Timeout | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly log: Logger,
    private readonly options: FanoutOptions = { maxHeldPerListener: 1000 },
  ) {}

  /** How often the live consumer was made again (for tests and logs). */
  get restartCount(): number {
    return this.restarts;
  }

  /** Connections currently registered (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  /** Starts reading live messages; resolves once the first consumer reads. */
  async start(): Promise<void> {
    this.lastSeq = await this.streamLastSeq().catch(() => 0);
    this.lastReadAt = Date.now();
    this.live = await this.consumeLive();
    this.loop = this.readLive(this.live);
    this.watchProgress();
  }

  private async streamLastSeq(): Promise<number> {
    return (await this.jsm.streams.info(CLIENT_STREAM)).state.last_seq;
  }

  /**
   * Missed heartbeats do not end every silent consumer: in the cluster fault suite, after the NATS
   * node a gateway was connected to was SIGKILLed, the live consumer of one gateway in two runs of
   * three stayed silent with no status at all, and its SSE clients got nothing more. So the
   * fan-out also checks its progress: when the stream holds messages newer than the last one read
   * and nothing was read for a while (and it is not holding back for a backlog), the consumer is
   * ended and made again from the last message read, as after any end.
   */
  private watchProgress() {
    this.progress = setInterval(async () => {
      if (this.stopping || this.queue.length >= MAX_QUEUED || Date.now() - this.lastReadAt < STALLED_AFTER_MS) return;
      const last = await this.streamLastSeq().catch(() => undefined);
      if (last === undefined || last <= this.lastSeq || this.stopping) return;
      this.log.warn({ lastRead: this.lastSeq, streamLast: last }, 'client message fan-out stalled; starting it again');
      this.lastReadAt = Date.now(); // one restart per stall, however long the new consumer takes
      this.live?.stop();
    }, PROGRESS_CHECK_MS);
    this.progress.unref();
  }

  private async consumeLive(): Promise<ConsumerMessages> {
    // After a restart, from the last message read (its millisecond; repeats are dropped by id).
    const since = this.lastRead === undefined ? this.startedAt : startTimeOf(this.lastRead);
    const consumer = await this.js.consumers.get(CLIENT_STREAM, {
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: since.toISOString(),
    });
    const messages = await consumer.consume();
    // A deleted consumer or stream leaves the iterator waiting forever: end it, to start again.
    // So do missed heartbeats: when the NATS node holding this ephemeral consumer dies, the
    // connection fails over to another node and the consumer stays silent for good
    // (tests/faults/cluster-faults.test.ts, the NATS node kill).
    void (async () => {
      for await (const status of messages.status()) {
        if (
          status.type === 'heartbeats_missed' ||
          status.type === 'consumer_deleted' ||
          status.type === 'consumer_not_found' ||
          status.type === 'stream_not_found'
        ) {
          messages.stop();
        }
      }
    })().catch(() => {});
    return messages;
  }

  /** Reads live messages until stopped, making the consumer again after any end or error. */
  private async readLive(first: ConsumerMessages): Promise<void> {
    let messages: ConsumerMessages | undefined = first;
    while (!this.stopping) {
      try {
        messages ??= await this.consumeLive();
        this.live = messages;
        for await (const msg of messages) {
          this.dispatch(msg);
          // Far behind: stop pulling until the backlog is delivered (memory stays bounded).
          if (this.queue.length >= MAX_QUEUED && !this.stopping) await new Promise<void>((resolve) => this.drained.push(resolve));
        }
        if (!this.stopping) this.log.warn('client message fan-out ended; starting it again');
      } catch (error) {
        if (!this.stopping) this.log.warn({ err: error }, 'client message fan-out failed; starting it again');
      }
      messages = undefined;
      if (this.stopping) break;
      this.restarts++;
      await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS));
    }
  }

  /**
   * Stops reading and ends every connection, so the HTTP server can close. The server's close
   * calls it, and so does the background work's stop afterwards: a second call waits for the first.
   */
  stop(): Promise<void> {
    this.stopped ??= this.stopNow();
    return this.stopped;
  }

  private async stopNow(): Promise<void> {
    this.stopping = true;
    clearInterval(this.progress);
    this.live?.stop();
    for (const resolve of this.drained.splice(0)) resolve();
    await this.loop;
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.queue.length = 0;
    for (const set of [...this.listeners.values()]) for (const listener of [...set]) this.closeListener(listener);
  }

  /**
   * Registers a listener; with `lastEventId` it first receives, in order, every message of its
   * tenant after that id that it matches (live messages meanwhile are held back), then live
   * ones. Returns the function that unregisters it. A replay that fails closes the listener:
   * going live after a gap would break "everything missed, in order"; the client reconnects.
   */
  listen(listener: Listener, lastEventId?: EventId): () => void {
    const registration = this.register(listener, lastEventId);
    return () => this.unregister(registration);
  }

  /**
   * `listen` without a closure: returns the registration to hand to `unregister`, for callers that
   * hold many listeners for long (an SSE stream keeps it in a field).
   */
  register(listener: Listener, lastEventId?: EventId): Registration {
    const registered: Registered = {
      tenantId: listener.tenantId,
      listener,
      lastSent: lastEventId ?? '',
      closed: false,
      buffer: lastEventId === undefined ? undefined : [],
    };
    const set = this.listeners.get(listener.tenantId) ?? new Set();
    this.listeners.set(listener.tenantId, set);
    set.add(registered);
    if (lastEventId !== undefined) {
      this.replay(registered, lastEventId).then(
        () => {
          const held = registered.buffer ?? [];
          registered.buffer = undefined;
          for (const message of held) this.deliver(registered, { messages: [message] });
        },
        (error) => {
          if (registered.closed) return;
          this.log.warn({ err: error, tenantId: registered.tenantId }, 'SSE replay failed; closing the connection');
          registered.closed = true; // nothing more reaches it, even before it is removed
          registered.buffer = undefined;
          this.closeListener(registered);
        },
      );
    }
    return registered;
  }

  /** Unregisters a listener; doing so again changes nothing. */
  unregister(registration: Registration): void {
    const registered = registration as Registered;
    registered.closed = true;
    registered.buffer = undefined;
    const set = this.listeners.get(registered.tenantId);
    if (set?.delete(registered) && set.size === 0) this.listeners.delete(registered.tenantId);
  }

  private dispatch(msg: JsMsg) {
    if (this.stopping) return;
    this.lastSeq = Math.max(this.lastSeq, msg.seq);
    this.lastReadAt = Date.now();
    const id = eventIdOf(msg);
    if (this.lastRead !== undefined && id <= this.lastRead) return; // read before a restart
    this.lastRead = id;
    const tokens = msg.subject.split('.');
    const tenantId = tokens[1] ?? '';
    if (!this.listeners.has(tenantId)) return;
    const body = parse(msg);
    if (!body) return;
    const message: SseMessage = { id, tokens: tokens.slice(2), ...body };
    this.join(message, tenantId);
    this.queue.push({ messages: [message], tenantId, next: 0 });
    if (!this.pumping && !this.scheduled) this.pump();
  }

  /**
   * A message that comes while a delivery of its tenant is under way rides along with it: the
   * listeners that delivery has yet to reach get it in the same write. It is queued as well, for
   * the listeners the delivery has passed (and any registered since); the rest were sent it
   * (`lastSent`) and are skipped. So a message waits for at most one pass over the listeners, not
   * for the rest of the pass under way and then a pass of its own.
   */
  private join(message: SseMessage, tenantId: string) {
    const current = this.queue[0];
    const underWay = current?.targets !== undefined && current.next < current.targets.length;
    if (underWay && current.tenantId === tenantId && current.messages.length < MAX_BATCH) current.messages.push(message);
  }

  /** Delivers queued messages in order until the queue is empty or the turn's time is up. */
  private pump() {
    this.scheduled = undefined;
    this.pumping = true;
    const deadline = performance.now() + SLICE_MS;
    try {
      for (let delivery = this.queue[0]; delivery; delivery = this.queue[0]) {
        const targets = delivery.targets ?? this.begin(delivery);
        while (delivery.next < targets.length) {
          const listener = targets[delivery.next++] as Registered;
          if (listener.buffer) for (const message of delivery.messages) this.hold(listener, message);
          else this.deliver(listener, delivery);
          if ((delivery.next & 63) === 0 && performance.now() > deadline) {
            this.scheduled = setImmediate(() => this.pump());
            return;
          }
        }
        this.queue.shift();
      }
      for (const resolve of this.drained.splice(0)) resolve();
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Begins the delivery at the head of the queue: takes into it the messages of its tenant queued
   * behind it (in order, up to `MAX_BATCH`), and fixes its targets: the listeners registered
   * before it began get its messages (or hold them back).
   */
  private begin(delivery: Delivery): Registered[] {
    let kept = 1;
    for (let i = 1; i < this.queue.length; i++) {
      const behind = this.queue[i] as Delivery;
      if (behind.tenantId === delivery.tenantId && delivery.messages.length < MAX_BATCH) delivery.messages.push(...behind.messages);
      else this.queue[kept++] = behind;
    }
    this.queue.length = kept;
    delivery.targets = [...(this.listeners.get(delivery.tenantId) ?? [])];
    return delivery.targets;
  }

  /** Holds a live message back while the listener replays; too many, and it resumes later. */
  private hold(listener: Registered, message: SseMessage) {
    const buffer = listener.buffer as SseMessage[];
    if (listener.closed || !listener.listener.matches(message.tokens)) return;
    const last = buffer.at(-1);
    if (last && message.id <= last.id) return; // held already, from the delivery it rode along with
    if (buffer.length < this.options.maxHeldPerListener) {
      buffer.push(message);
      return;
    }
    listener.closed = true;
    listener.buffer = undefined;
    try {
      listener.listener.resume(listener.lastSent);
    } catch (error) {
      this.log.warn({ err: error }, 'ending an SSE connection failed');
    }
  }

  /** Sends the listener, in one write, the messages of `delivery` it matches and was not sent yet. */
  private deliver(listener: Registered, delivery: Pick<Delivery, 'messages' | 'frames'>) {
    if (listener.closed) return;
    try {
      const { messages } = delivery;
      let mask = 0;
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i] as SseMessage;
        if (message.id <= listener.lastSent || !listener.listener.matches(message.tokens)) continue;
        mask |= 1 << i;
        listener.lastSent = message.id;
      }
      if (mask !== 0) listener.listener.send(framesOf(delivery, mask));
    } catch (error) {
      this.log.warn({ err: error }, 'SSE write failed; closing the connection');
      this.closeListener(listener);
    }
  }

  private closeListener(listener: Registered) {
    try {
      listener.listener.close();
    } catch (error) {
      this.log.warn({ err: error }, 'closing an SSE connection failed');
    }
  }

  /** Sends the listener, in order, the messages of its tenant stored after `lastEventId`. */
  private async replay(listener: Registered, lastEventId: EventId) {
    const filter = `client.${listener.tenantId}.>`;
    let first: number;
    try {
      // The first message stored in the id's millisecond or later, then the tenant's first from there.
      const after = await this.jsm.direct.getMessage(CLIENT_STREAM, { start_time: startTimeOf(lastEventId) });
      if (!after) return;
      const next = await this.jsm.direct.getMessage(CLIENT_STREAM, { seq: after.seq, next_by_subj: filter });
      if (!next) return;
      first = next.seq;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.status === 404) return;
      throw error;
    }
    const consumer = await this.js.consumers.get(CLIENT_STREAM, {
      filter_subjects: [filter],
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: first,
    });
    const messages = await consumer.consume();
    try {
      for await (const msg of messages) {
        if (listener.closed) break;
        const body = parse(msg);
        if (body) this.deliver(listener, { messages: [{ id: eventIdOf(msg), tokens: msg.subject.split('.').slice(2), ...body }] });
        if (msg.info.pending === 0) break;
        const backedUp = listener.listener.ready?.();
        if (backedUp) await backedUp;
      }
    } finally {
      messages.stop();
    }
  }
}

/** The fan-out as the gateway's background work: reading before the HTTP server listens, stopped after it closed. */
export const fanoutWork = (fanout: Fanout): BackgroundWork => ({
  name: 'sse-fanout',
  async start() {
    await fanout.start();
    return { stop: () => fanout.stop() };
  },
});
