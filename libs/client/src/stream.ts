import { EventSourceParserStream } from 'eventsource-parser/stream';
import { type Credential, currentCredential } from './client.js';

/** One named SSE message; `data` is the parsed JSON payload. */
export interface StreamEvent {
  id: string | undefined;
  event: string;
  data: unknown;
}

export type StreamStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StreamOptions {
  baseUrl: string;
  credential: Credential;
  /** e.g. `['bookings']`, `['user']`, `['availability.session.<id>']`. */
  channels: string[];
  /** Resume after this id (a previous stream's `lastEventId`). */
  lastEventId?: string;
  onEvent(event: StreamEvent): void;
  /** Connection changes; `error` says why a stream closed for good or why it reconnects. */
  onStatus?(status: StreamStatus, error?: Error): void;
  /**
   * The stream reopened with no position to resume from (no message had arrived before it
   * dropped), so what happened meanwhile is not replayed: reload whatever state you show.
   */
  onResync?(): void;
  fetch?: typeof fetch;
}

export interface EventStream {
  /** The id of the last message received: a later stream resumes from it. */
  readonly lastEventId: string | undefined;
  close(): void;
}

/** The gateway ends a stream with this event; its reason says whether to reconnect. */
interface StreamEnded {
  reason: 'resume' | 'credential_expired' | 'credential_revoked';
}

class Refused extends Error {}

/**
 * Reads the gateway's SSE stream (`GET /v1/stream`) with fetch, so the credential travels in a
 * header rather than the URL, in browsers and Node alike. Every event is named (`booking.created`,
 * `notification.created`, …). When the connection drops it reconnects after the server's
 * `retry:` delay with `Last-Event-ID`, and the gateway replays what was missed in order, without
 * duplicates. It stops for good on `close()`, on a revoked credential, and on a refusal (4xx
 * other than 429).
 */
export function streamEvents(options: StreamOptions): EventStream {
  const controller = new AbortController();
  const doFetch = options.fetch ?? (((input, init) => fetch(input, init)) as typeof fetch);
  let lastEventId = options.lastEventId;
  let retryMs = 3000;
  let opened = false;

  const connect = async (): Promise<'again' | 'now' | 'stop'> => {
    const url = `${options.baseUrl}/v1/stream?channels=${encodeURIComponent(options.channels.join(','))}`;
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      authorization: `Bearer ${await currentCredential(options.credential)}`,
    };
    if (lastEventId) headers['last-event-id'] = lastEventId;
    const response = await doFetch(url, { headers, signal: controller.signal });
    if (!response.ok || !response.body) {
      const problem = await response.text().catch(() => '');
      if (response.status !== 429 && response.status < 500) throw new Refused(`stream refused: ${response.status} ${problem}`);
      throw new Error(`stream unavailable: ${response.status}`);
    }
    options.onStatus?.('open');
    if (opened && !headers['last-event-id']) options.onResync?.();
    opened = true;
    const events = response.body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream({ onRetry: (ms) => (retryMs = ms) }));
    for await (const message of events as unknown as AsyncIterable<{ id?: string; event?: string; data: string }>) {
      if (message.event === 'stream.ended') {
        const { reason } = JSON.parse(message.data) as StreamEnded;
        return reason === 'credential_revoked' ? 'stop' : 'now';
      }
      if (message.id) lastEventId = message.id;
      options.onEvent({ id: message.id, event: message.event ?? 'message', data: JSON.parse(message.data) });
    }
    return 'again';
  };

  const run = async () => {
    options.onStatus?.('connecting');
    while (!controller.signal.aborted) {
      let next: 'again' | 'now' | 'stop';
      let error: Error | undefined;
      try {
        next = await connect();
      } catch (caught) {
        error = caught as Error;
        next = caught instanceof Refused ? 'stop' : 'again';
      }
      if (controller.signal.aborted) break;
      if (next === 'stop') {
        options.onStatus?.('closed', error);
        controller.abort();
        return;
      }
      options.onStatus?.('reconnecting', error);
      if (next === 'again') await sleep(retryMs, controller.signal);
    }
    options.onStatus?.('closed');
  };
  void run();

  return {
    get lastEventId() {
      return lastEventId;
    },
    close: () => controller.abort(),
  };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
