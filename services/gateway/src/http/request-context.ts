import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { formatTraceparent, type Logger, startServerSpan } from '@allot/kit';
import { type Context, context, propagation, type Span, SpanStatusCode, type TextMapGetter, trace } from '@opentelemetry/api';
import type { Context as HonoContext, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { gatewayMetrics } from '../metrics';
import type { GatewayEnv } from './env';
import { nodeBindings } from './node';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** @hono/node-server's marker on a response the handler wrote to the Node response itself. */
const ALREADY_SENT = 'x-hono-already-sent';

const headersGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};
/** The Node request's headers as the propagators' carrier: no Web `Headers` is built for them. */
export const nodeHeadersGetter: TextMapGetter<IncomingHttpHeaders> = {
  get: (headers, key) => {
    const value = headers[key];
    return Array.isArray(value) ? value.join(', ') : value;
  },
  keys: (headers) => Object.keys(headers),
};

/**
 * One span per request (continuing the caller's `traceparent`), `X-Request-Id` (echoed if the
 * client sent a sane one) and `traceparent` on every response, and one log line per request:
 * at debug level (request counts and durations are in the metrics; a line per request at info
 * would cost every request a log write), at warn when the gateway answered 5xx.
 *
 * The span is not made the active context: routes find it as `traceContext` (the RPC bridge
 * passes it on with each call) and `requestLogger` binds its ids into the request's lines.
 * Running the rest of the request inside `context.with` cost about a quarter of the gateway's
 * CPU for a `GET` that is one RPC (Node 20's `AsyncLocalStorage` works through async hooks that
 * every promise runs). Code that needs the trace as the active context (an outbox write records
 * it) runs in `inRequestTrace`.
 *
 * Served by Node, the two headers are set on the Node response before the route runs: Node
 * merges them into whatever is written, a response made through the context, any other, or a
 * stream the route writes itself, and nothing has to look at the response afterwards (reading
 * `c.res.headers` would make @hono/node-server build a Web `Headers` of every response). Without
 * Node (`app.request()`), they are prepared on the context and added at the end to a response
 * built some other way.
 */
export function requestContext(log: Logger): MiddlewareHandler<GatewayEnv> {
  return async function requestContextMiddleware(c, next) {
    const node = nodeBindings(c);
    const request = node
      ? beginRequest(node.incoming.headers, nodeHeadersGetter, c.req.method)
      : beginRequest(c.req.raw.headers, headersGetter, c.req.method);
    c.set('requestId', request.requestId);
    c.set('traceContext', trace.setSpan(request.parent, request.span));
    if (node) {
      node.outgoing.setHeader('x-request-id', request.requestId);
      node.outgoing.setHeader('traceparent', request.traceparent);
    } else {
      c.header('x-request-id', request.requestId);
      c.header('traceparent', request.traceparent);
    }
    try {
      await next();
    } finally {
      const headers = node ? undefined : c.res.headers;
      if (headers && headers.get('x-request-id') !== request.requestId && !headers.has(ALREADY_SENT)) {
        c.header('x-request-id', request.requestId);
        c.header('traceparent', request.traceparent);
      }
      endRequest(log, request, routePath(c, -1), c.res.status, () => ({
        path: c.req.path,
        tenantId: c.get('credential')?.tenantId,
        logger: requestLogger(log, c),
      }));
    }
  };
}

/** A request's id and trace, from its start (`beginRequest`) to its answer (`endRequest`). */
export interface RequestTrace {
  requestId: string;
  method: string;
  traceparent: string;
  /** The caller's trace (none: the active context); the middleware puts the span in it for the routes. */
  parent: Context;
  span: Span;
  started: number;
}

/** Starts a request's span and picks its id (see `requestContext`). */
export function beginRequest<H>(headers: H, getter: TextMapGetter<H>, method: string): RequestTrace {
  const sentId = getter.get(headers, 'x-request-id');
  const requestId = typeof sentId === 'string' && REQUEST_ID.test(sentId) ? sentId : randomUUID();
  const parent = propagation.extract(context.active(), headers, getter);
  const span = startServerSpan(`${method} /v1`, parent);
  return {
    requestId,
    method,
    traceparent: formatTraceparent(span.spanContext()),
    parent,
    span,
    started: performance.now(),
  };
}

/**
 * Ends a request's span once it is answered (a stream: once its head is sent), records its
 * duration, and writes its line: at debug level, at warn for a 5xx. `line` is only called when
 * the line is written.
 */
export function endRequest(
  log: Logger,
  request: RequestTrace,
  route: string,
  status: number,
  line: () => { path: string; tenantId?: string | null; logger: Logger },
): void {
  const { method, span, started } = request;
  span.updateName(`${method} ${route}`);
  gatewayMetrics().requestDuration.record((performance.now() - started) / 1000, { method, route, status });
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
  const level = status >= 500 ? 'warn' : 'debug';
  if (log.isLevelEnabled(level)) {
    const { path, tenantId, logger } = line();
    logger[level]({ method, path, status, ms: Math.round(performance.now() - started), tenantId }, 'request');
  }
}

/**
 * A logger whose lines carry the request's id and trace, made when a line is written: most
 * requests write none (their line is at debug level), and a child logger per request would cost
 * each one its bindings' serialisation.
 */
export function requestLogger(log: Logger, c: HonoContext<GatewayEnv>): Logger {
  const span = trace.getSpanContext(c.get('traceContext') ?? context.active());
  return log.child({ requestId: c.get('requestId'), traceId: span?.traceId, spanId: span?.spanId });
}

/** `requestLogger` of a request served without a context (the SSE lane). */
export function traceLogger(log: Logger, request: RequestTrace): Logger {
  const span = request.span.spanContext();
  return log.child({ requestId: request.requestId, traceId: span.traceId, spanId: span.spanId });
}

/** Runs `fn` with the request's trace as the active context (for code that reads it from there). */
export function inRequestTrace<T>(c: HonoContext<GatewayEnv>, fn: () => T): T {
  return context.with(c.get('traceContext'), fn);
}
