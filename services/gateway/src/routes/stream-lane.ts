import type { IncomingMessage, ServerResponse } from 'node:http';
import { looksLikeApiKey } from '../auth/api-keys';
import type { GatewayDeps } from '../deps';
import { apiKeyCredential, bearerOf } from '../http/auth';
import { corsHeaders, corsOptions } from '../http/cors';
import { incomingHeader } from '../http/node';
import { toAppError, writeProblem } from '../http/problem';
import { beginRequest, endRequest, nodeHeadersGetter, traceLogger } from '../http/request-context';
import { type Channel, resolveChannels } from '../sse/channels';
import type { EventId } from '../sse/event-ids';
import { EVENT_STREAM_HEADERS, openNodeStream, type StreamCredential } from '../sse/streams';
import { parseLastEventId } from './stream';

const PATH = '/v1/stream';

/** What a stream request the lane takes is found to ask for before anything is done for it. */
interface Opening {
  credential: StreamCredential;
  channels: Channel[];
  lastEventId: EventId | undefined;
}

/**
 * The SSE route's fast entrance, on Node's request event before the app: a replica opens its
 * streams by the thousand when clients reconnect together (a deploy, a network blip), and the
 * app's middleware chain with its Web request, context and promise per layer cost as much as
 * Node's own work for a connection. The lane takes `GET /v1/stream` with no body, a valid query
 * and an API key verified lately (`ApiKeyVerifier.known`: no I/O) — the common reconnect — and
 * does what the app would do for it, with the same code: the request's id, span, metric and line
 * (`beginRequest`/`endRequest`), CORS, the per-credential rate limit (`deps.requestLimit`), the
 * stream (`openNodeStream` on `deps.streams`).
 *
 * Everything else it declines (`false`) before doing anything, and the app serves it as always:
 * other requests, a user token, a key not verified lately, a query or `Last-Event-ID` the app
 * will refuse. Once taken, a request is answered here whatever happens: 429 when the rate limit
 * or the stream caps refuse it, as the app answers.
 */
export function streamLane(deps: GatewayDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { log, verifier, requestLimit, streams } = deps;
  const cors = corsHeaders(corsOptions(deps.config));

  const opening = (req: IncomingMessage): Opening | undefined => {
    const url = req.url ?? '';
    if (req.method !== 'GET' || !url.startsWith(PATH) || (url.length > PATH.length && url[PATH.length] !== '?')) return undefined;
    if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0) return undefined;
    try {
      const query = plainQuery(url.slice(PATH.length + 1));
      if (!query?.channels) return undefined;
      const header = incomingHeader(req, 'authorization');
      const token = header ? bearerOf(header) : query.access_token;
      const key = token && looksLikeApiKey(token) ? verifier.known(token) : undefined;
      if (!key) return undefined;
      const credential = apiKeyCredential(key);
      const channels = resolveChannels(query.channels, credential);
      return { credential, channels, lastEventId: parseLastEventId(incomingHeader(req, 'last-event-id') ?? query.lastEventId) };
    } catch {
      return undefined; // the app answers it (with its problem, for a refusal)
    }
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, { credential, channels, lastEventId }: Opening) => {
    const request = beginRequest(req.headers, nodeHeadersGetter, 'GET');
    // The head, collected here and written at once (no header set on the response one by one).
    const head: Record<string, string> = { 'x-request-id': request.requestId, traceparent: request.traceparent };
    cors(incomingHeader(req, 'origin'), (name, value, append) => {
      head[name] = append && head[name] ? `${head[name]}, ${value}` : value;
    });
    let status = 200;
    try {
      const taken = await requestLimit.consume(credential.id);
      if (taken.refusal) {
        status = 429;
        writeProblem(res, taken.refusal, status, { ...head, ...taken.headers });
        return;
      }
      Object.assign(head, taken.headers, EVENT_STREAM_HEADERS);
      openNodeStream(streams, res, credential, channels, lastEventId, head);
    } catch (error) {
      const refused = toAppError(error);
      status = refused.status;
      if (refused.error.code === 'internal') traceLogger(log, request).error({ err: error }, 'unhandled error');
      writeProblem(res, refused.error, status, head);
    } finally {
      endRequest(log, request, PATH, status, () => ({ path: PATH, tenantId: credential.tenantId, logger: traceLogger(log, request) }));
    }
  };

  return (req, res) => {
    const taken = opening(req);
    if (taken) {
      serve(req, res, taken).catch((error: unknown) => {
        log.error({ err: error }, 'SSE lane failed; connection dropped');
        res.destroy();
      });
    }
    return taken !== undefined;
  };
}

/**
 * The route's parameters, read as the app's validator reads them (`parseStreamQuery`), or
 * undefined for a query it might read otherwise (a parameter given twice).
 */
function plainQuery(search: string): Partial<Record<'channels' | 'lastEventId' | 'access_token', string>> | undefined {
  const query: Partial<Record<string, string>> = {};
  for (const [name, value] of new URLSearchParams(search)) {
    if (name !== 'channels' && name !== 'lastEventId' && name !== 'access_token') continue;
    if (query[name] !== undefined) return undefined;
    query[name] = value;
  }
  return query;
}
