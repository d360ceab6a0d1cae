import { AppError } from '@allot/contracts';
import type { MiddlewareHandler } from 'hono';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { GatewayEnv } from './env';
import { problem } from './problem';

/**
 * Per-credential rate limit: `burst` requests per window of `burst / perSecond` seconds, so the
 * average is `perSecond` and a client may spend its whole burst at once. Limits are kept per
 * gateway replica (docs/decisions.md). Answers carry the IETF `RateLimit` and
 * `RateLimit-Policy` headers; a refusal is 429 `rate_limited` with `Retry-After`.
 */
export function rateLimit(options: { perSecond: number; burst: number }): MiddlewareHandler<GatewayEnv> {
  const windowSeconds = options.burst / options.perSecond;
  const limiter = new RateLimiterMemory({ points: options.burst, duration: windowSeconds });
  const policy = `"per-credential";q=${options.burst};w=${Math.max(1, Math.ceil(windowSeconds))}`;

  return async function rateLimitMiddleware(c, next) {
    const credential = c.get('credential');
    if (!credential) return next();
    let result: RateLimiterRes;
    try {
      result = await limiter.consume(credential.id);
    } catch (rejected) {
      if (!(rejected instanceof RateLimiterRes)) throw rejected;
      const retryAfter = Math.max(1, Math.ceil(rejected.msBeforeNext / 1000));
      return problem(c, new AppError('rate_limited', `Rate limit of ${options.perSecond}/s (burst ${options.burst}) exceeded`), 429, {
        'retry-after': String(retryAfter),
        'ratelimit-policy': policy,
        ratelimit: `"per-credential";r=0;t=${retryAfter}`,
      });
    }
    c.header('ratelimit-policy', policy);
    c.header('ratelimit', `"per-credential";r=${result.remainingPoints};t=${Math.ceil(result.msBeforeNext / 1000)}`);
    await next();
  };
}
