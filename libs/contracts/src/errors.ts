import { z } from 'zod';

/** The API's error codes and the HTTP status each maps to (docs/api.md, Errors) — the one table for both. */
export const errorStatus = {
  validation_failed: 400,
  invalid_webhook_url: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  capacity_exhausted: 409,
  capacity_below_booked: 409,
  session_inactive: 409,
  invalid_state: 409,
  report_not_ready: 409,
  report_failed: 410,
  idempotency_key_reused: 422,
  unknown_sku: 422,
  answer_too_large: 422,
  rate_limited: 429,
  quota_exceeded: 429,
  too_many_jobs: 429,
  internal: 500,
  upstream_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;
export const ErrorCode = z.enum(Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]]);

/** One offending field of a `validation_failed` error. */
export const FieldError = z.object({ path: z.string(), message: z.string() });
export type FieldError = z.infer<typeof FieldError>;

export const ErrorBody = z.object({
  code: ErrorCode,
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/**
 * A domain error: thrown by domain code and RPC handlers, carried across NATS as an error
 * reply, and turned into a problem response by the gateway. `details` travel to the client
 * (e.g. `availableSlots`, the dates below booked, `errors` for validation).
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return errorStatus[this.code];
  }

  toBody(): ErrorBody {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }

  static from(body: ErrorBody): AppError {
    return new AppError(body.code, body.message, body.details);
  }
}

/** "1 slot", "3 slots": a count with its noun, for messages people read. */
export const quantity = (n: number, noun: string, plural = `${noun}s`) => `${n} ${n === 1 ? noun : plural}`;

const article = (word: string) => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`);

/**
 * A short message for an issue zod describes in its own words ("Too big: expected number to be
 * <=50"), written to follow the field's name: "adults: must be at most 50". Messages a schema
 * sets itself are kept as they are.
 */
function readableIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${article(issue.expected === 'int' ? 'integer' : String(issue.expected))}`;
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${quantity(max, 'character')}`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at most ${quantity(max, 'item')}`;
      return issue.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'string') return min === 1 ? 'must not be empty' : `must be at least ${quantity(min, 'character')}`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at least ${quantity(min, 'item')}`;
      return issue.inclusive === false ? `must be more than ${min}` : `must be at least ${min}`;
    }
    case 'invalid_format':
      return issue.format === 'regex' ? 'has an invalid format' : `must be a valid ${issue.format}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return 'is not a known field';
    default:
      return undefined;
  }
}
z.config({ customError: readableIssue });

/**
 * Turns zod issues into the problem's `errors: [{path, message}]`: each offending field once (with
 * its first problem: `1e308` for an integer of at most 50 breaks both rules, and one clear
 * message says enough), named as the client wrote it — `limit`, `adults`, `guests.0.name`.
 */
export function fieldErrors(error: z.ZodError): FieldError[] {
  const byPath = new Map<string, string>();
  // zod's own safe-integer bound says less than the schema's bound on the same field.
  const generic = (issue: z.core.$ZodIssue) =>
    (issue.code === 'too_big' && Math.abs(Number(issue.maximum)) === Number.MAX_SAFE_INTEGER) ||
    (issue.code === 'too_small' && Math.abs(Number(issue.minimum)) === Number.MAX_SAFE_INTEGER);
  for (const issue of [...error.issues.filter((i) => !generic(i)), ...error.issues.filter(generic)]) {
    const path = issue.path.map(String).join('.');
    const names = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [path, key].filter(Boolean).join('.')) : [path];
    for (const name of names) if (!byPath.has(name || '(body)')) byPath.set(name || '(body)', issue.message);
  }
  return [...byPath].map(([path, message]) => ({ path, message }));
}

/** A `validation_failed` error naming every offending field. */
export function validationError(error: z.ZodError): AppError {
  const errors = fieldErrors(error);
  const detail = errors.map((e) => (e.path === '(body)' ? e.message : `${e.path} ${e.message}`)).join('; ');
  return new AppError('validation_failed', `Invalid request: ${detail}`, { errors });
}
