import { AppError, validationError } from '@allot/contracts';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { GatewayDeps } from '../deps';
import { credentialOf, requireCredential } from '../http/auth';
import type { GatewayEnv } from '../http/env';
import { nodeBindings, requestHeader } from '../http/node';
import { bearer, callableBy, problems, router } from '../http/openapi';
import { resolveChannels } from '../sse/channels';
import { nodeSink, webSink } from '../sse/connection';
import { type EventId, parseEventId } from '../sse/event-ids';
import { EVENT_STREAM_HEADERS, openStream, Stream } from '../sse/streams';

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
 * with `URLSearchParams` from the request line (`url`: the path and query, or a whole URL).
 */
function parseStreamQuery(url: string): z.infer<typeof StreamQuery> {
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

/** `Last-Event-ID` (the header, or the `lastEventId` parameter): an id this gateway sent, or none. */
export function parseLastEventId(value: string | undefined): EventId | undefined {
  if (value === undefined || value === '') return undefined;
  const id = parseEventId(value);
  if (id === undefined) {
    throw new AppError('validation_failed', 'Invalid Last-Event-ID', {
      errors: [{ path: 'Last-Event-ID', message: 'must be an id this stream sent' }],
    });
  }
  return id;
}

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

/**
 * The route as the app serves it. Served by Node, most streams open in `stream-lane.ts` before
 * the app sees them; this entrance opens the rest (a credential not verified lately, a user
 * token) and answers every refusal.
 */
export function streamRoutes(deps: GatewayDeps) {
  const hub = deps.streams;
  const app = router();
  app.openAPIRegistry.registerPath(stream); // documented as declared; routed without its validator (see parseStreamQuery)
  return app.get('/stream', requireCredential('apiKey', 'user'), async (c) => {
    const credential = credentialOf(c, 'apiKey', 'user');
    const node = nodeBindings(c);
    const query = parseStreamQuery(node?.incoming.url ?? c.req.url);
    const channels = resolveChannels(query.channels, credential);
    const lastEventId = parseLastEventId(requestHeader(c, 'last-event-id') ?? query.lastEventId);
    if (c.req.method === 'HEAD') return c.newResponse(null, 200, preparedHeaders(c));
    if (node) {
      openStream(hub, credential, channels, lastEventId, (gone) => nodeSink(node.outgoing, EVENT_STREAM_HEADERS, gone));
      return RESPONSE_ALREADY_SENT;
    }
    const open = new Stream(hub, credential, channels);
    const web = webSink(open.release);
    open.sink = web.sink;
    c.req.raw.signal?.addEventListener('abort', () => web.sink.end(), { once: true });
    const response = c.newResponse(web.body, 200, preparedHeaders(c));
    open.start(lastEventId);
    return response;
  });
}
