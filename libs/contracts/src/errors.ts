import { z } from 'zod';

/** The SPEC's error codes (§2) and the HTTP status each maps to — the one table for both. */
export const errorStatus = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  capacity_exhausted: 409,
  capacity_below_booked: 409,
  session_inactive: 409,
  invalid_state: 409,
  idempotency_key_reused: 422,
  unknown_sku: 422,
  rate_limited: 429,
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

/** Turns zod issues into the SPEC's `errors: [{path, message}]`, one per offending field. */
export function fieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const keys = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '';
    const full = [prefix, path, keys].filter(Boolean).join('.');
    return { path: full || '(body)', message: issue.message };
  });
}

/** A `validation_failed` error naming every offending field. */
export function validationError(error: z.ZodError, prefix = ''): AppError {
  const errors = fieldErrors(error, prefix);
  return new AppError('validation_failed', `Invalid ${errors.map((e) => e.path).join(', ')}`, { errors });
}
