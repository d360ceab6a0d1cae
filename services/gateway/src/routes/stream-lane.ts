import type { Socket } from 'node:net';
import { looksLikeApiKey } from '../auth/api-keys';
import type { GatewayDeps } from '../deps';
import { apiKeyCredential, bearerOf } from '../http/auth';
import { corsHeaders, corsOptions } from '../http/cors';
import { type PlainGet, readPlainGet, responseHead } from '../http/plain-http';
import { toAppError, writeProblem } from '../http/problem';
import { beginRequest, endRequest, nodeHeadersGetter, traceLogger } from '../http/request-context';
import { type Channel, resolveChannels } from '../sse/channels';
import { socketSink } from '../sse/connection';
import type { EventId } from '../sse/event-ids';
import { EVENT_STREAM_HEADERS, openStream, type StreamCredential } from '../sse/streams';
import { parseLastEventId } from './stream';

const PATH = '/v1/stream';
/** How long a connection may keep the lane waiting for its first bytes before Node's server (and its header timeout) takes it. */
const FIRST_BYTES_MS = 1000;

/** What a stream request the lane takes is found to ask for before anything is done for it. */
interface Opening {
  headers: Record<string, string>;
  credential: StreamCredential;
  channels: Channel[];
  lastEventId: EventId | undefined;
}

export interface StreamLane {
  /** A new connection: its first bytes decide whether the lane serves it or Node's HTTP server does. */
  accept(socket: Socket): void;
  /** Stops waiting: the connections whose first bytes have not come are closed (shutdown). */
  close(): void;
}

/**
 * The SSE route's fast entrance, before Node's HTTP server: a replica opens its streams by the
 * thousand when clients reconnect together (a deploy, a network blip), and a stream's request
 * and response objects, its parser and the app's middleware chain cost more than the stream's
 * own work. The lane reads each new connection's first bytes, and takes a plain
 * `GET /v1/stream` (`readPlainGet`: exactly one whole, unambiguous request head) with a valid
 * query and an API key verified lately (`ApiKeyVerifier.known`: no I/O) — the common reconnect.
 * It does what the app would do for it, with the same code: the request's id, span, metric and
 * line (`beginRequest`/`endRequest`), CORS, the per-credential rate limit (`deps.requestLimit`),
 * the stream (`openStream` on `deps.streams`), and writes the response on the connection itself,
 * as Node would have: the same head, a chunked body.
 *
 * Every other connection goes to Node's server (`toNode`) with its bytes as they came, before
 * the lane did anything for it: other requests, a user token, a key not verified lately, a query
 * or `Last-Event-ID` the app will refuse, a head split over several packets, a silent client
 * (after `FIRST_BYTES_MS`). Once taken, a request is answered here whatever happens: 429 when the
 * rate limit or the stream caps refuse it, as the app answers, and the connection closed after.
 */
export function streamLane(deps: GatewayDeps, toNode: (socket: Socket) => void): StreamLane {
  const { log, verifier, requestLimit, streams } = deps;
  const cors = corsHeaders(corsOptions(deps.config));
  /** Connections waiting for their first bytes, with when they came (oldest first). */
  const waiting = new Map<Socket, number>();

  const opening = (request: PlainGet | undefined): Opening | undefined => {
    if (!request) return undefined;
    const { target, headers } = request;
    if (!target.startsWith(PATH) || (target.length > PATH.length && target[PATH.length] !== '?')) return undefined;
    try {
      const query = plainQuery(target.slice(PATH.length + 1));
      if (!query?.channels) return undefined;
      const token = headers.authorization ? bearerOf(headers.authorization) : query.access_token;
      const key = token && looksLikeApiKey(token) ? verifier.known(token) : undefined;
      if (!key) return undefined;
      const credential = apiKeyCredential(key);
      const channels = resolveChannels(query.channels, credential);
      return { headers, credential, channels, lastEventId: parseLastEventId(headers['last-event-id'] ?? query.lastEventId) };
    } catch {
      return undefined; // the app answers it (with its problem, for a refusal)
    }
  };

  const serve = async (socket: Socket, { headers, credential, channels, lastEventId }: Opening) => {
    const request = beginRequest(headers, nodeHeadersGetter, 'GET');
    const head: Record<string, string> = { 'x-request-id': request.requestId, traceparent: request.traceparent };
    cors(headers.origin, (name, value, append) => {
      head[name] = append && head[name] ? `${head[name]}, ${value}` : value;
    });
    let status = 200;
    let opened = false;
    try {
      const taken = await requestLimit.consume(credential.id);
      if (taken.refusal) {
        status = 429;
        writeProblem(socket, taken.refusal, status, { ...head, ...taken.headers });
        return;
      }
      const response = responseHead(200, { ...head, ...taken.headers, ...EVENT_STREAM_HEADERS, 'transfer-encoding': 'chunked' });
      openStream(streams, credential, channels, lastEventId, (gone) => {
        opened = true;
        return socketSink(socket, response, gone);
      });
    } catch (error) {
      const refused = toAppError(error);
      status = refused.status;
      if (refused.error.code === 'internal') traceLogger(log, request).error({ err: error }, 'unhandled error');
      // Once the stream has its sink, its head may be out: the connection is cut off instead.
      if (opened) socket.destroy();
      else writeProblem(socket, refused.error, status, head);
    } finally {
      endRequest(log, request, PATH, status, () => ({ path: PATH, tenantId: credential.tenantId, logger: traceLogger(log, request) }));
    }
  };

  // The listeners of a waiting connection: made once for the lane, not per connection.
  function stopWaiting(socket: Socket) {
    waiting.delete(socket);
    socket.off('data', onFirstBytes);
    socket.off('end', onGoneWhileWaiting);
  }
  function onFirstBytes(this: Socket, bytes: Buffer) {
    stopWaiting(this);
    const taken = opening(readPlainGet(bytes));
    if (!taken) {
      this.off('error', onSocketError);
      this.unshift(bytes); // Node's parser reads them first
      toNode(this);
      return;
    }
    serve(this, taken).catch((error: unknown) => {
      log.error({ err: error }, 'SSE lane failed; connection dropped');
      this.destroy();
    });
  }
  function onGoneWhileWaiting(this: Socket) {
    stopWaiting(this);
    this.destroy();
  }
  // Kept on a taken connection: an error (the client reset it) only ends it.
  function onSocketError(this: Socket) {
    if (waiting.has(this)) stopWaiting(this);
    this.destroy();
  }

  const sweep = setInterval(() => {
    const due = performance.now() - FIRST_BYTES_MS;
    for (const [socket, since] of waiting) {
      if (since > due) break;
      stopWaiting(socket);
      socket.off('error', onSocketError);
      toNode(socket);
    }
  }, FIRST_BYTES_MS).unref();

  return {
    accept(socket) {
      waiting.set(socket, performance.now());
      socket.on('error', onSocketError);
      socket.on('end', onGoneWhileWaiting);
      socket.on('data', onFirstBytes);
    },
    close() {
      clearInterval(sweep);
      for (const socket of waiting.keys()) {
        stopWaiting(socket);
        socket.destroy();
      }
    },
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
