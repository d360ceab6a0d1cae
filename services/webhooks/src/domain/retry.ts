/**
 * When a failed delivery is tried again (the service's README.md, Retries): the schedule in
 * seconds with ±20 % jitter, so endpoints that failed together are not retried together; a
 * `Retry-After` of a 429 or 503 answer instead of the schedule; nothing after the last step.
 */

/** `5,300,1800` → [5, 300, 1800]; undefined if any step is not a positive number. */
export function parseSchedule(text: string): number[] | undefined {
  const steps = text.split(',').map((s) => Number(s.trim()));
  return steps.length > 0 && steps.every((s) => Number.isFinite(s) && s > 0) ? steps : undefined;
}

/** The longest wait a `Retry-After` may ask for; a longer one is cut to this. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * The delay before the attempt after attempt `attempt` (1-based) failed, or undefined when the
 * schedule has no step left. `random` is in [0, 1).
 */
export function retryDelayMs(attempt: number, schedule: readonly number[], random: number): number | undefined {
  const step = schedule[attempt - 1];
  if (step === undefined) return undefined;
  return Math.round(step * 1000 * (0.8 + 0.4 * random));
}

/**
 * A `Retry-After` header as a delay: delta-seconds or an HTTP date (RFC 9110, Retry-After);
 * undefined when absent or unreadable. Never negative, at most `MAX_RETRY_AFTER_MS`.
 */
export function retryAfterMs(header: string | undefined, now: Date): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now.getTime();
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

export type Outcome =
  | { kind: 'delivered' }
  /** 410 Gone: the receiver asks for no more deliveries; the endpoint is disabled. */
  | { kind: 'gone' }
  | { kind: 'failed'; retryAfterMs?: number };

/** What an answer's status means: 2xx delivered; 410 gone; anything else (3xx included) failed. */
export function outcomeOf(statusCode: number | null, retryAfter: string | undefined, now: Date): Outcome {
  if (statusCode !== null && statusCode >= 200 && statusCode < 300) return { kind: 'delivered' };
  if (statusCode === 410) return { kind: 'gone' };
  if (statusCode === 429 || statusCode === 503) {
    const wait = retryAfterMs(retryAfter, now);
    if (wait !== undefined) return { kind: 'failed', retryAfterMs: wait };
  }
  return { kind: 'failed' };
}
