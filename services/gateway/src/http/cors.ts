import type { MiddlewareHandler } from 'hono';
import { cors as honoCors } from 'hono/cors';
import type { GatewayConfig } from '../config';
import type { GatewayEnv } from './env';
import { requestHeader, setResponseHeader } from './node';

export interface CorsOptions {
  /** `'*'` or the allowed origins. */
  origin: string | string[];
  exposeHeaders: string[];
}

/** The gateway's CORS: the configured origins; the headers a browser client may read. */
export const corsOptions = (config: GatewayConfig): CorsOptions => ({
  origin: config.CORS_ORIGINS.includes('*') ? '*' : config.CORS_ORIGINS,
  exposeHeaders: ['X-Request-Id', 'traceparent', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'Idempotent-Replayed'],
});

/** Sets a response header, appending to one already set when `append` is true. */
export type SetHeader = (name: string, value: string, append?: boolean) => void;

/**
 * The CORS headers of a request that is not a preflight, as Hono's `cors()` sets them, given
 * the request's `Origin`: also used by the SSE lane (`stream-lane.ts`), which has no context.
 */
export function corsHeaders(options: CorsOptions): (origin: string | undefined, set: SetHeader) => void {
  const anyOrigin = options.origin === '*';
  const allowed = typeof options.origin === 'string' ? [options.origin] : options.origin;
  const expose = options.exposeHeaders.length > 0 ? options.exposeHeaders.join(',') : undefined;
  return (origin, set) => {
    if (anyOrigin) set('access-control-allow-origin', '*');
    else {
      if (allowed.includes(origin ?? '')) set('access-control-allow-origin', origin as string);
      set('vary', 'Origin', true);
    }
    if (expose) set('access-control-expose-headers', expose);
  };
}

/**
 * CORS with the headers of Hono's `cors()`: preflights (`OPTIONS`) are Hono's; on every other
 * request the headers are set before the route runs (`setResponseHeader`: on the Node response).
 * (Hono's middleware sets them on `c.res`, which makes every response be built twice and the
 * lightweight Node response be turned into a full Web `Response`.)
 */
export function cors(options: CorsOptions): MiddlewareHandler<GatewayEnv> {
  const preflight = honoCors(options);
  const headers = corsHeaders(options);
  return async function corsMiddleware(c, next) {
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    headers(requestHeader(c, 'origin'), (name, value, append) => setResponseHeader(c, name, value, { append: append === true }));
    await next();
  };
}
