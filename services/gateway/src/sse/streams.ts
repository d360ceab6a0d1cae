import type { ApiKeyVerifier } from '../auth/api-keys';
import { type Credential, issuingKeyOf } from '../auth/credentials';
import type { GatewayConfig } from '../config';
import { gatewayMetrics } from '../metrics';
import type { Channel } from './channels';
import type { SseSink } from './connection';
import type { EventId } from './event-ids';
import type { Fanout, Listener, Registration } from './fanout';
import { Heartbeats } from './heartbeats';
import { StreamLimits } from './stream-limits';

/** Sent first: how long a client waits before reconnecting. */
const RETRY = Buffer.from('retry: 3000\n\n');
const HEARTBEAT = Buffer.from(': heartbeat\n\n');

/**
 * Why the gateway ends a stream, sent as its last event (it has no id, so the client's
 * `Last-Event-ID` stays that of the last message it got): `resume` — reconnect with your last id
 * (the stream fell too far behind); `credential_expired` — reconnect with a fresh token and your
 * last id; `credential_revoked` — the credential is gone.
 */
type EndReason = 'resume' | 'credential_expired' | 'credential_revoked';
const endFrame = (reason: EndReason, lastEventId?: EventId) =>
  Buffer.from(`event: stream.ended\ndata: ${JSON.stringify({ reason, lastEventId: lastEventId || null })}\n\n`);

/** The event-stream headers, as every stream's head has them. */
export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
};

/**
 * What every stream shares, made once per gateway (`GatewayDeps.streams`) for both entrances of
 * `GET /v1/stream` (`routes/stream.ts` and `routes/stream-lane.ts`): each stream holds one
 * reference to it.
 */
export interface StreamHub {
  verifier: ApiKeyVerifier;
  fanout: Fanout;
  limits: StreamLimits;
  heartbeats: Heartbeats<Stream>;
}

export function streamHub(config: GatewayConfig, verifier: ApiKeyVerifier, fanout: Fanout): StreamHub {
  return {
    verifier,
    fanout,
    limits: new StreamLimits({ perCredential: config.SSE_MAX_STREAMS_PER_CREDENTIAL, perTenant: config.SSE_MAX_STREAMS_PER_TENANT }),
    heartbeats: new Heartbeats<Stream>(config.SSE_HEARTBEAT_MS),
  };
}

/** A stream's credential: an API key or a user token. */
export type StreamCredential = Extract<Credential, { kind: 'apiKey' | 'user' }>;

/**
 * Opens a stream on the sink `sinkFor` makes (given what runs once the connection is over): its
 * head and `retry:`, then live (see `Stream.start`). Throws 429 before making the sink if the
 * credential or tenant has as many streams open as it may.
 */
export function openStream(
  hub: StreamHub,
  credential: StreamCredential,
  channels: Channel[],
  lastEventId: EventId | undefined,
  sinkFor: (onGone: () => void) => SseSink,
): void {
  const open = new Stream(hub, credential, channels);
  open.sink = sinkFor(open.release);
  open.start(lastEventId);
}

/**
 * One open stream, as the fan-out's listener: one object per connection with its methods shared,
 * since a replica holds many thousands for hours. It is itself what the heartbeats, the key watch
 * and the fan-out hold (no closure per registration); `release` runs once when the connection is
 * over: client gone, write failed, too slow, revoked, expired or shutdown.
 */
export class Stream implements Listener {
  sink!: SseSink;
  private gone = false;
  private expiry: NodeJS.Timeout | undefined;
  private registration: Registration | undefined;
  readonly tenantId: string;

  constructor(
    private readonly hub: StreamHub,
    private readonly credential: StreamCredential,
    private readonly channels: Channel[],
  ) {
    this.tenantId = credential.tenantId;
    hub.limits.admit(credential.id, credential.tenantId);
    gatewayMetrics().sseConnections.add(1);
  }

  /** Goes live once the response has started: heartbeats, credential watch and expiry, fan-out. */
  start(lastEventId: EventId | undefined) {
    this.sink.write(RETRY);
    if (this.gone) return;
    this.hub.heartbeats.add(this);
    // The stream lives no longer than its credential: the key (or the key that minted the token)
    // revoked, or the token expired.
    this.hub.verifier.watch(issuingKeyOf(this.credential) as string, this);
    if (this.credential.kind === 'user') {
      this.expiry = setTimeout(() => this.end('credential_expired'), this.credential.expiresAt - Date.now());
    }
    this.registration = this.hub.fanout.register(this, lastEventId);
  }

  readonly release = () => {
    if (this.gone) return;
    this.gone = true;
    const { hub, credential } = this;
    gatewayMetrics().sseConnections.add(-1);
    hub.limits.release(credential.id, credential.tenantId);
    clearTimeout(this.expiry);
    hub.heartbeats.delete(this);
    hub.verifier.unwatch(issuingKeyOf(credential) as string, this);
    if (this.registration) hub.fanout.unregister(this.registration);
    this.registration = undefined;
  };

  keyRevoked() {
    this.end('credential_revoked');
  }

  end(reason: EndReason, lastSent?: EventId) {
    this.sink.write(endFrame(reason, lastSent));
    this.sink.end();
  }

  heartbeat() {
    this.sink.write(HEARTBEAT);
  }

  matches(tokens: string[]) {
    for (const channel of this.channels) if (channel.matches(tokens, this.credential)) return true;
    return false;
  }

  send(frame: Uint8Array) {
    this.sink.write(frame);
  }

  close() {
    this.sink.end();
  }

  resume(lastSent: EventId) {
    this.end('resume', lastSent);
  }

  ready() {
    return this.sink.ready();
  }
}
