import type { Logger } from '@allot/kit';
import { DeliverPolicy, JetStreamApiError, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { CLIENT_STREAM } from './client-messages';

/** One SSE connection's interest: its tenant, its channel filter, and how to send. */
export interface Listener {
  tenantId: string;
  matches(tokens: string[]): boolean;
  send(id: number, event: string, data: unknown): void;
  /** Ends the connection (the gateway is shutting down). */
  close(): void;
}

interface Registered extends Listener {
  lastSent: number;
  closed: boolean;
  /** Live messages held back while the listener replays what it missed. */
  buffer: { seq: number; tokens: string[]; event: string; data: unknown }[] | undefined;
}

/**
 * Delivers client messages to this replica's SSE connections. One ordered consumer per replica
 * reads new messages of the `CLIENT` stream and hands each to the listeners of its tenant, so
 * connections hold no NATS resources of their own; a reconnecting listener first replays what
 * it missed (a short-lived ordered consumer from its `Last-Event-ID`), then goes live with
 * duplicates dropped by sequence.
 */
export class Fanout {
  private readonly listeners = new Map<string, Set<Registered>>();
  private stopLive: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly log: Logger,
  ) {}

  /** Connections currently registered (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  async start(): Promise<void> {
    const consumer = await this.js.consumers.get(CLIENT_STREAM, { deliver_policy: DeliverPolicy.New });
    const messages = await consumer.consume();
    this.stopLive = () => messages.stop();
    this.loop = (async () => {
      for await (const msg of messages) this.dispatch(msg);
    })().catch((error) => this.log.error({ err: error }, 'client message fan-out stopped'));
  }

  /** Stops reading and ends every connection, so the HTTP server can close. */
  async stop(): Promise<void> {
    this.stopLive?.();
    await this.loop;
    for (const set of [...this.listeners.values()]) for (const listener of [...set]) listener.close();
  }

  /**
   * Registers a listener; with `lastEventId` it first receives, in order, every message of its
   * tenant after that id that it matches. Returns the function that unregisters it.
   */
  async listen(listener: Listener, lastEventId?: number): Promise<() => void> {
    const registered: Registered = {
      ...listener,
      lastSent: lastEventId ?? 0,
      closed: false,
      buffer: lastEventId === undefined ? undefined : [],
    };
    const set = this.listeners.get(listener.tenantId) ?? new Set();
    this.listeners.set(listener.tenantId, set);
    set.add(registered);
    const remove = () => {
      registered.closed = true;
      set.delete(registered);
      if (set.size === 0 && this.listeners.get(listener.tenantId) === set) this.listeners.delete(listener.tenantId);
      registered.buffer = undefined;
    };
    if (lastEventId !== undefined) {
      try {
        await this.replay(registered, lastEventId);
      } finally {
        const held = registered.buffer ?? [];
        registered.buffer = undefined;
        for (const m of held) this.deliver(registered, m.seq, m.tokens, m.event, m.data);
      }
    }
    return remove;
  }

  private dispatch(msg: JsMsg) {
    const tokens = msg.subject.split('.');
    const set = this.listeners.get(tokens[1] ?? '');
    if (!set) return;
    let body: { event: string; data: unknown };
    try {
      body = msg.json();
    } catch {
      return;
    }
    const rest = tokens.slice(2);
    for (const listener of set) {
      if (listener.buffer) listener.buffer.push({ seq: msg.seq, tokens: rest, event: body.event, data: body.data });
      else this.deliver(listener, msg.seq, rest, body.event, body.data);
    }
  }

  private deliver(listener: Registered, seq: number, tokens: string[], event: string, data: unknown) {
    if (listener.closed || seq <= listener.lastSent || !listener.matches(tokens)) return;
    listener.lastSent = seq;
    listener.send(seq, event, data);
  }

  private async replay(listener: Registered, lastEventId: number) {
    const filter = `client.${listener.tenantId}.>`;
    let first: number;
    try {
      // Fast path: is anything of this tenant stored after the client's last id?
      const next = await this.jsm.direct.getMessage(CLIENT_STREAM, { seq: lastEventId + 1, next_by_subj: filter });
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
        const body = msg.json<{ event: string; data: unknown }>();
        this.deliver(listener, msg.seq, msg.subject.split('.').slice(2), body.event, body.data);
        if (msg.info.pending === 0) break;
      }
    } finally {
      messages.stop();
    }
  }
}
