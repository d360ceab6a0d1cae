import { AppError, validationError } from '@allot/contracts';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { type Credential, issuingKeyOf } from '../auth/credentials';
import type { GatewayDeps } from '../deps';
import { credentialOf, requireCredential } from '../http/auth';
import type { GatewayEnv } from '../http/env';
import { nodeBindings, requestHeader } from '../http/node';
import { bearer, callableBy, problems, router } from '../http/openapi';
import { gatewayMetrics } from '../metrics';
import { type Channel, resolveChannels } from '../sse/channels';
import { nodeSink, type SseSink, webSink } from '../sse/connection';
import { type EventId, parseEventId } from '../sse/event-ids';
import type { Listener, Registration } from '../sse/fanout';
import { Heartbeats } from '../sse/heartbeats';
import { StreamLimits } from '../sse/stream-limits';

const StreamQuery = z.object({
  channels: z
    .string()
    .openapi({ description: 'availability, availability.<date>, availability.session.<id>, bookings, orders, alerts, user' }),
  lastEventId: z.string().optional().openapi({ description: 'Resume after this id (or the Last-Event-ID header)' }),
  access_token: z.string().optional().openapi({ description: 'The credential, for clients that cannot set headers' }),
});

const stream = createRoute({
  method: 'get',
  path: '/stream',
  summary: 'Server-sent events of the given channels; resumable for an hour with Last-Event-ID',
  operationId: 'openStream',
  tags: ['Stream'],
  description:
    'A `text/event-stream` of the named channels. Every message is a named event (`booking.created`, `availability.updated`, …): ' +
    'listen for each name, not for unnamed messages. Reconnect with `Last-Event-ID` to get what was missed in the last hour; a stream ' +
    `may end with a \`stream.ended\` event whose \`reason\` says whether to reconnect. ${callableBy('apiKey', 'user')} ` +
    'The credential may also be given as `access_token`, for clients that cannot set headers.',
  security: bearer,
  request: { query: StreamQuery },
  responses: {
    200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } },
    ...problems(400, 401, 403, 429),
  },
});

/**
 * The route's query, checked here rather than by the validator `openapi()` would add: that one
 * reads `Content-Type` through Hono, which makes @hono/node-server build a Web `Headers` of every
 * request header, and @hono/node-server's 'close' listener keeps the request (so those headers)
 * for as long as the stream is open: about 0.5 KiB per stream. Read as that validator reads it
 * (a repeated parameter is an array, `+` is a space), failing with the same `validation_failed`;
 * with `URLSearchParams` from the request line, which in a profile of many streams opening cost
 * less than Hono's `c.req.queries()`.
 */
function streamQuery(c: Context<GatewayEnv>): z.infer<typeof StreamQuery> {
  const url = nodeBindings(c)?.incoming.url ?? c.req.url;
  const at = url.indexOf('?');
  const params = new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
  const values = [...new Set(params.keys())].map((name) => {
    const all = params.getAll(name);
    return [name, all.length === 1 ? all[0] : all];
  });
  const result = StreamQuery.safeParse(Object.fromEntries(values));
  if (!result.success) throw validationError(result.error);
  return result.data;
}

function parseLastEventId(value: string | undefined): EventId | undefined {
  if (value === undefined || value === '') return undefined;
  const id = parseEventId(value);
  if (id === undefined) {
    throw new AppError('validation_failed', 'Invalid Last-Event-ID', {
      errors: [{ path: 'Last-Event-ID', message: 'must be an id this stream sent' }],
    });
  }
  return id;
}

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
const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
};

/**
 * The stream's response headers, for a response not served by Node: those the middleware
 * prepared on the context (`X-Request-Id`, `traceparent`, CORS, `RateLimit`) and the
 * event-stream ones. Served by Node, the middleware set theirs on the Node response, which merges
 * them into the head, and the event-stream ones are all it needs (no Web `Response` made per
 * stream to collect the prepared ones).
 */
function preparedHeaders(c: Context<GatewayEnv>): Record<string, string> {
  const headers: Record<string, string> = {};
  // A response made now carries the prepared headers without fixing them on the context.
  c.newResponse(null).headers.forEach((value, name) => {
    headers[name] = value;
  });
  delete headers['content-length'];
  return { ...headers, ...EVENT_STREAM_HEADERS };
}

/** What every stream of the route shares: kept once, each stream holds one reference to it. */
interface StreamHub {
  verifier: GatewayDeps['verifier'];
  fanout: GatewayDeps['fanout'];
  limits: StreamLimits;
  heartbeats: Heartbeats<Stream>;
}

/**
 * One open stream, as the fan-out's listener: one object per connection with its methods shared,
 * since a replica holds many thousands for hours. It is itself what the heartbeats, the key watch
 * and the fan-out hold (no closure per registration); `release` runs once when the connection is
 * over: client gone, write failed, too slow, revoked, expired or shutdown.
 */
class Stream implements Listener {
  sink!: SseSink;
  private gone = false;
  private expiry: NodeJS.Timeout | undefined;
  private registration: Registration | undefined;
  readonly tenantId: string;

  constructor(
    private readonly hub: StreamHub,
    private readonly credential: Extract<Credential, { kind: 'apiKey' | 'user' }>,
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

export function streamRoutes(deps: GatewayDeps) {
  const hub: StreamHub = {
    verifier: deps.verifier,
    fanout: deps.fanout,
    limits: new StreamLimits({
      perCredential: deps.config.SSE_MAX_STREAMS_PER_CREDENTIAL,
      perTenant: deps.config.SSE_MAX_STREAMS_PER_TENANT,
    }),
    heartbeats: new Heartbeats<Stream>(deps.config.SSE_HEARTBEAT_MS),
  };
  const app = router();
  app.openAPIRegistry.registerPath(stream); // documented as declared; routed without its validator (see streamQuery)
  return app.get('/stream', requireCredential('apiKey', 'user'), async (c) => {
    const credential = credentialOf(c, 'apiKey', 'user');
    const query = streamQuery(c);
    const channels = resolveChannels(query.channels, credential);
    const lastEventId = parseLastEventId(requestHeader(c, 'last-event-id') ?? query.lastEventId);
    if (c.req.method === 'HEAD') return c.newResponse(null, 200, preparedHeaders(c));
    const open = new Stream(hub, credential, channels);
    const node = nodeBindings(c);
    let response: Response;
    if (node) {
      open.sink = nodeSink(node.outgoing, EVENT_STREAM_HEADERS, open.release);
      response = RESPONSE_ALREADY_SENT;
    } else {
      const web = webSink(open.release);
      open.sink = web.sink;
      c.req.raw.signal?.addEventListener('abort', () => web.sink.end(), { once: true });
      response = c.newResponse(web.body, 200, preparedHeaders(c));
    }
    open.start(lastEventId);
    return response;
  });
}
