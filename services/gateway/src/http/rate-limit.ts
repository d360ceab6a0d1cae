import { AppError } from '@allot/contracts';
import type { Context, MiddlewareHandler } from 'hono';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { GatewayEnv } from './env';
import { setResponseHeader } from './node';
import { problem } from './problem';

export interface RateLimitOptions {
  perSecond: number;
  burst: number;
}

/**
 * A limit of `burst` requests per window of `burst / perSecond` seconds per key, so the average
 * is `perSecond` and a client may spend its whole burst at once. Kept per gateway replica
 * (docs/decisions.md). `policy` names it in the IETF `RateLimit` and `RateLimit-Policy` headers.
 */
export class Limit {
  private readonly limiter: RateLimiterMemory;
  private readonly policyHeader: string;

  constructor(
    private readonly policy: string,
    private readonly options: RateLimitOptions,
  ) {
    const windowSeconds = options.burst / options.perSecond;
    this.limiter = new RateLimiterMemory({ points: options.burst, duration: windowSeconds });
    this.policyHeader = `"${policy}";q=${options.burst};w=${Math.max(1, Math.ceil(windowSeconds))}`;
  }

  /** Takes one request from `key`'s allowance: the headers to send, or the 429 to answer. */
  async take(c: Context, key: string): Promise<Response | undefined> {
    const taken = await this.consume(key);
    if (taken.refusal) return problem(c, taken.refusal, 429, taken.headers);
    for (const name in taken.headers) setResponseHeader(c, name, taken.headers[name] as string);
    return undefined;
  }

  /**
   * `take` without a context (the SSE lane, `stream-lane.ts`, answers on the Node response): the
   * headers to send, and the error of a refusal, whose headers are then those of the 429.
   */
  async consume(key: string): Promise<{ headers: Record<string, string>; refusal?: AppError }> {
    try {
      const result = await this.limiter.consume(key);
      const reset = Math.ceil(result.msBeforeNext / 1000);
      return { headers: { 'ratelimit-policy': this.policyHeader, ratelimit: `"${this.policy}";r=${result.remainingPoints};t=${reset}` } };
    } catch (rejected) {
      if (!(rejected instanceof RateLimiterRes)) throw rejected;
      const retryAfter = Math.max(1, Math.ceil(rejected.msBeforeNext / 1000));
      const { perSecond, burst } = this.options;
      return {
        refusal: new AppError('rate_limited', `Rate limit of ${perSecond}/s (burst ${burst}) exceeded`),
        headers: {
          'retry-after': String(retryAfter),
          'ratelimit-policy': this.policyHeader,
          ratelimit: `"${this.policy}";r=0;t=${retryAfter}`,
        },
      };
    }
  }

  /** Gives back a request taken by `take` (it turned out to be someone else's to count). */
  async giveBack(key: string): Promise<void> {
    await this.limiter.reward(key, 1);
  }
}

/** Per-credential rate limit (`limit`, shared with the SSE lane); a refusal is 429 `rate_limited` with `Retry-After`. */
export function rateLimit(limit: Limit): MiddlewareHandler<GatewayEnv> {
  return async function rateLimitMiddleware(c, next) {
    const credential = c.get('credential');
    if (!credential) return next();
    const refused = await limit.take(c, credential.id);
    if (refused) return refused;
    await next();
  };
}
