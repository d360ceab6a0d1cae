import type { MiddlewareHandler } from 'hono';
import { cors as honoCors } from 'hono/cors';
import type { GatewayEnv } from './env';
import { requestHeader, setResponseHeader } from './node';

export interface CorsOptions {
  /** `'*'` or the allowed origins. */
  origin: string | string[];
  exposeHeaders: string[];
}

/**
 * CORS with the headers of Hono's `cors()`: preflights (`OPTIONS`) are Hono's; on every other
 * request the headers are set before the route runs (`setResponseHeader`: on the Node response).
 * (Hono's middleware sets them on `c.res`, which makes every response be built twice and the
 * lightweight Node response be turned into a full Web `Response`.)
 */
export function cors(options: CorsOptions): MiddlewareHandler<GatewayEnv> {
  const preflight = honoCors(options);
  const anyOrigin = options.origin === '*';
  const allowed = typeof options.origin === 'string' ? [options.origin] : options.origin;
  const expose = options.exposeHeaders.length > 0 ? options.exposeHeaders.join(',') : undefined;
  return async function corsMiddleware(c, next) {
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    if (anyOrigin) setResponseHeader(c, 'access-control-allow-origin', '*');
    else {
      const origin = requestHeader(c, 'origin') ?? '';
      if (allowed.includes(origin)) setResponseHeader(c, 'access-control-allow-origin', origin);
      setResponseHeader(c, 'vary', 'Origin', { append: true });
    }
    if (expose) setResponseHeader(c, 'access-control-expose-headers', expose);
    await next();
  };
}
