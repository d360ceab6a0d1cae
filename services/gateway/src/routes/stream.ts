import { AppError } from '@allot/contracts';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { issuingKeyOf } from '../auth/credentials';
import type { GatewayDeps } from '../deps';
import { credentialOf, requireCredential } from '../http/auth';
import type { GatewayEnv } from '../http/env';
import { nodeBindings, requestHeader } from '../http/node';
import { bearer, callableBy, problems, router } from '../http/openapi';
import { gatewayMetrics } from '../metrics';
import { resolveChannels } from '../sse/channels';
import { nodeSink, type SseSink, webSink } from '../sse/connection';
import { type EventId, parseEventId } from '../sse/event-ids';
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
  middleware: [requireCredential('apiKey', 'user')],
  request: { query: StreamQuery },
  responses: {
    200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } },
    ...problems(400, 401, 403, 429),
  },
});

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

/**
 * The stream's response headers: those the middleware prepared (`X-Request-Id`, `traceparent`,
 * CORS, `RateLimit`) and the event-stream ones.
 */
function streamHeaders(c: Context<GatewayEnv>): Record<string, string> {
  const headers: Record<string, string> = {};
  // A response made now carries the prepared headers without fixing them on the context.
  c.newResponse(null).headers.forEach((value, name) => {
    headers[name] = value;
  });
  delete headers['content-length'];
  headers['content-type'] = 'text/event-stream';
  headers['cache-control'] = 'no-cache';
  headers.connection = 'keep-alive';
  return headers;
}

export function streamRoutes(deps: GatewayDeps) {
  const limits = new StreamLimits({
    perCredential: deps.config.SSE_MAX_STREAMS_PER_CREDENTIAL,
    perTenant: deps.config.SSE_MAX_STREAMS_PER_TENANT,
  });
  return router().openapi(stream, async (c) => {
    const credential = credentialOf(c, 'apiKey', 'user');
    const query = c.req.valid('query');
    const channels = resolveChannels(query.channels, credential);
    const lastEventId = parseLastEventId(requestHeader(c, 'last-event-id') ?? query.lastEventId);
    const headers = streamHeaders(c);
    if (c.req.method === 'HEAD') return c.newResponse(null, 200, headers);
    const countOut = limits.admit(credential.id, credential.tenantId);

    let gone = false;
    let heartbeat: NodeJS.Timeout | undefined;
    let expiry: NodeJS.Timeout | undefined;
    let unlisten: (() => void) | undefined;
    let unwatch: (() => void) | undefined;
    // Runs once when the connection is over: client gone, write failed, too slow, revoked, expired or shutdown.
    const release = () => {
      gatewayMetrics().sseConnections.add(-1);
      gone = true;
      countOut();
      clearInterval(heartbeat);
      clearTimeout(expiry);
      unwatch?.();
      unlisten?.();
      unlisten = undefined;
    };
    gatewayMetrics().sseConnections.add(1);
    const node = nodeBindings(c);
    let sink: SseSink;
    let response: Response;
    if (node) {
      sink = nodeSink(node.outgoing, headers, release);
      response = RESPONSE_ALREADY_SENT;
    } else {
      const web = webSink(release);
      sink = web.sink;
      c.req.raw.signal?.addEventListener('abort', () => sink.end(), { once: true });
      response = c.newResponse(web.body, 200, headers);
    }
    const end = (reason: EndReason, lastSent?: EventId) => {
      sink.write(endFrame(reason, lastSent));
      sink.end();
    };
    sink.write(RETRY);
    if (gone) return response;
    heartbeat = setInterval(() => sink.write(HEARTBEAT), deps.config.SSE_HEARTBEAT_MS);
    // The stream lives no longer than its credential: the key (or the key that minted the token)
    // revoked, or the token expired.
    unwatch = deps.verifier.watch(issuingKeyOf(credential) as string, () => end('credential_revoked'));
    if (credential.kind === 'user') expiry = setTimeout(() => end('credential_expired'), credential.expiresAt - Date.now());
    unlisten = deps.fanout.listen(
      {
        tenantId: credential.tenantId,
        matches: (tokens) => channels.some((channel) => channel.matches(tokens, credential)),
        send: (frame) => sink.write(frame),
        close: () => sink.end(),
        resume: (lastSent) => end('resume', lastSent),
        ready: () => sink.ready(),
      },
      lastEventId,
    );
    return response;
  });
}
