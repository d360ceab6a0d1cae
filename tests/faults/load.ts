/**
 * What the fault suite's clients do while faults happen, and what they remember of it: every
 * request classed as accepted (2xx), refused (4xx, a definite no) or unknown (5xx, a timeout or a
 * dropped connection: the effect may or may not have happened), and SSE clients that reconnect
 * with `Last-Event-ID` to the other gateway whenever their stream drops.
 */
import { EventSourceParserStream } from 'eventsource-parser/stream';

export type Outcome = 'accepted' | 'refused' | 'unknown';

export interface Answer {
  status: number;
  body: any;
  outcome: Outcome;
}

/** Counts of outcomes per request kind (`POST /v1/bookings`, …). */
export class Tally {
  readonly byKind = new Map<string, Record<Outcome, number>>();
  add(kind: string, outcome: Outcome) {
    const row = this.byKind.get(kind) ?? { accepted: 0, refused: 0, unknown: 0 };
    row[outcome]++;
    this.byKind.set(kind, row);
  }
}

/** One request to a gateway, never waiting more than `timeoutMs` (then its outcome is unknown). */
export async function request(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<Answer> {
  try {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, body: json, outcome: res.status < 400 ? 'accepted' : res.status < 500 ? 'refused' : 'unknown' };
  } catch {
    return { status: 0, body: null, outcome: 'unknown' };
  }
}

export interface Received {
  id: string;
  event: string;
  data: string;
}

/**
 * An SSE client that keeps its channels open across gateway deaths: when a stream ends or fails it
 * reconnects, to the next gateway in turn, sending the last id it received.
 */
export class ResumingStream {
  readonly received: Received[] = [];
  reconnects = 0;
  /** Each connection made: when, to which gateway, from which id, and how it answered. */
  readonly connections: { at: string; base: string; lastId: string | undefined; status: number }[] = [];
  private lastId: string | undefined;
  private controller = new AbortController();
  private closed = false;
  private readonly done: Promise<void>;
  /** Resolves once the first connection answered 200 (the stream is subscribed from then on). */
  readonly opened: Promise<void>;

  constructor(
    private readonly bases: string[],
    private readonly key: string,
    readonly channels: string,
    start: number,
  ) {
    let open!: () => void;
    this.opened = new Promise((resolve) => (open = resolve));
    this.done = this.run(start, open);
  }

  private async run(start: number, open: () => void) {
    for (let n = start; !this.closed; n++) {
      const base = this.bases[n % this.bases.length];
      try {
        const res = await fetch(`${base}/v1/stream?channels=${this.channels}`, {
          headers: {
            accept: 'text/event-stream',
            authorization: `Bearer ${this.key}`,
            ...(this.lastId ? { 'last-event-id': this.lastId } : {}),
          },
          signal: this.controller.signal,
        });
        this.connections.push({ at: new Date().toISOString(), base: base ?? '', lastId: this.lastId, status: res.status });
        if (res.ok && res.body) {
          open();
          await res.body
            .pipeThrough(new TextDecoderStream())
            .pipeThrough(new EventSourceParserStream())
            .pipeTo(
              new WritableStream({
                write: (e) => {
                  if (e.id) this.lastId = e.id;
                  if (e.event !== 'stream.ended') this.received.push({ id: e.id ?? '', event: e.event ?? '', data: e.data });
                },
              }),
            );
        } else await res.body?.cancel();
      } catch {}
      if (this.closed) break;
      this.reconnects++;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async close() {
    this.closed = true;
    this.controller.abort();
    await this.done;
  }
}
