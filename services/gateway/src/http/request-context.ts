import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { formatTraceparent, type Logger, startServerSpan } from '@allot/kit';
import { context, propagation, SpanStatusCode, type TextMapGetter, trace } from '@opentelemetry/api';
import type { Context, MiddlewareHandler } from 'hono';
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
const nodeHeadersGetter: TextMapGetter<IncomingHttpHeaders> = {
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
    const incoming = node ? node.incoming.headers['x-request-id'] : c.req.header('x-request-id');
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const parent = node
      ? propagation.extract(context.active(), node.incoming.headers, nodeHeadersGetter)
      : propagation.extract(context.active(), c.req.raw.headers, headersGetter);
    const span = startServerSpan(`${c.req.method} /v1`, parent);
    const traceparent = formatTraceparent(span.spanContext());
    const started = performance.now();
    c.set('requestId', requestId);
    c.set('traceContext', trace.setSpan(parent, span));
    if (node) {
      node.outgoing.setHeader('x-request-id', requestId);
      node.outgoing.setHeader('traceparent', traceparent);
    } else {
      c.header('x-request-id', requestId);
      c.header('traceparent', traceparent);
    }
    try {
      await next();
    } finally {
      const headers = node ? undefined : c.res.headers;
      if (headers && headers.get('x-request-id') !== requestId && !headers.has(ALREADY_SENT)) {
        c.header('x-request-id', requestId);
        c.header('traceparent', traceparent);
      }
      const route = routePath(c, -1);
      span.updateName(`${c.req.method} ${route}`);
      gatewayMetrics().requestDuration.record((performance.now() - started) / 1000, { method: c.req.method, route, status: c.res.status });
      span.setAttribute('http.response.status_code', c.res.status);
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      const level = c.res.status >= 500 ? 'warn' : 'debug';
      if (log.isLevelEnabled(level)) {
        const ms = Math.round(performance.now() - started);
        const tenantId = c.get('credential')?.tenantId;
        requestLogger(log, c)[level]({ method: c.req.method, path: c.req.path, status: c.res.status, ms, tenantId }, 'request');
      }
    }
  };
}

/**
 * A logger whose lines carry the request's id and trace, made when a line is written: most
 * requests write none (their line is at debug level), and a child logger per request would cost
 * each one its bindings' serialisation.
 */
export function requestLogger(log: Logger, c: Context<GatewayEnv>): Logger {
  const span = trace.getSpanContext(c.get('traceContext') ?? context.active());
  return log.child({ requestId: c.get('requestId'), traceId: span?.traceId, spanId: span?.spanId });
}

/** Runs `fn` with the request's trace as the active context (for code that reads it from there). */
export function inRequestTrace<T>(c: Context<GatewayEnv>, fn: () => T): T {
  return context.with(c.get('traceContext'), fn);
}
