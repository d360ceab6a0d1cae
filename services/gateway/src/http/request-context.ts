import { randomUUID } from 'node:crypto';
import { type Logger, SpanKind, tracer } from '@allot/kit';
import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { GatewayEnv } from './env';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const headerGetter = {
  get: (headers: Headers, key: string) => headers.get(key) ?? undefined,
  keys: (headers: Headers) => [...headers.keys()],
};

/**
 * One span per request (continuing the caller's `traceparent`), `X-Request-Id` (echoed if the
 * client sent a sane one) and `traceparent` on every response, and one log line per request.
 */
export function requestContext(log: Logger): MiddlewareHandler<GatewayEnv> {
  return async function requestContextMiddleware(c, next) {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const parent = propagation.extract(context.active(), c.req.raw.headers, headerGetter);
    const span = tracer.startSpan(`${c.req.method} /v1`, { kind: SpanKind.SERVER }, parent);
    const { traceId, spanId, traceFlags } = span.spanContext();
    const started = performance.now();
    c.set('requestId', requestId);
    c.set('log', log.child({ requestId }));
    const active = trace.setSpan(parent, span);
    try {
      await context.with(active, next);
    } finally {
      c.header('x-request-id', requestId);
      c.header('traceparent', `00-${traceId}-${spanId}-0${traceFlags}`);
      span.updateName(`${c.req.method} ${routePath(c, -1)}`);
      span.setAttribute('http.response.status_code', c.res.status);
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      const credential = c.get('credential');
      const line = () =>
        c.get('log').info(
          {
            method: c.req.method,
            path: c.req.path,
            status: c.res.status,
            ms: Math.round(performance.now() - started),
            tenantId: credential?.tenantId,
          },
          'request',
        );
      context.with(active, line); // the logger's mixin adds the trace id
    }
  };
}
