import type { MiddlewareHandler } from 'hono';
import { cors as honoCors } from 'hono/cors';
import type { GatewayEnv } from './env';
import { requestHeader } from './node';

export interface CorsOptions {
  /** `'*'` or the allowed origins. */
  origin: string | string[];
  exposeHeaders: string[];
}

/**
 * CORS with the headers of Hono's `cors()`: preflights (`OPTIONS`) are Hono's; on every other
 * request the headers are prepared on the context before the route runs. (Hono's middleware
 * sets them on `c.res`, which makes every response be built twice and the lightweight Node
 * response be turned into a full Web `Response`.)
 */
export function cors(options: CorsOptions): MiddlewareHandler<GatewayEnv> {
  const preflight = honoCors(options);
  const anyOrigin = options.origin === '*';
  const allowed = typeof options.origin === 'string' ? [options.origin] : options.origin;
  const expose = options.exposeHeaders.length > 0 ? options.exposeHeaders.join(',') : undefined;
  return async function corsMiddleware(c, next) {
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    if (anyOrigin) c.header('access-control-allow-origin', '*');
    else {
      const origin = requestHeader(c, 'origin') ?? '';
      if (allowed.includes(origin)) c.header('access-control-allow-origin', origin);
      c.header('vary', 'Origin', { append: true });
    }
    if (expose) c.header('access-control-expose-headers', expose);
    await next();
  };
}
