import type { Socket } from 'node:net';
import { AppError, type ErrorCode, errorStatus } from '@allot/contracts';
import { databaseUnreachable, unreachableDatabase } from '@allot/kit';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { responseHead } from './plain-http';

const titles: Record<ErrorCode, string> = {
  validation_failed: 'Request is not valid',
  invalid_webhook_url: 'Webhook URL not allowed',
  unauthorized: 'Authentication required',
  forbidden: 'Not allowed for this credential',
  not_found: 'Not found',
  conflict: 'Conflict',
  capacity_exhausted: 'Not enough capacity',
  capacity_below_booked: 'Capacity below booked slots',
  session_inactive: 'Session is inactive',
  invalid_state: 'Not allowed in the current state',
  report_not_ready: 'Report not ready yet',
  report_failed: 'Report failed',
  idempotency_key_reused: 'Idempotency key reused with another request',
  unknown_sku: 'Unknown SKU',
  answer_too_large: 'Answer too large',
  rate_limited: 'Too many requests',
  quota_exceeded: 'Quota exceeded',
  too_many_jobs: 'Too many jobs running',
  upstream_unavailable: 'Service unavailable',
  internal: 'Internal error',
};

/** The RFC 9457 body of an error; `details` (e.g. `errors`, `availableSlots`) are merged in. */
export function problemBody(error: AppError, status: number = error.status) {
  return {
    type: `https://allot.dev/problems/${error.code.replaceAll('_', '-')}`,
    title: titles[error.code],
    status,
    detail: error.message,
    code: error.code,
    ...error.details,
  };
}

export function problem(c: Context, error: AppError, status: number = error.status, headers: Record<string, string> = {}) {
  return c.json(problemBody(error, status), status as ContentfulStatusCode, {
    ...headers,
    'content-type': 'application/problem+json',
  });
}

/** `problem` as a whole HTTP/1.1 response on a connection, which it then closes (the SSE lane). */
export function writeProblem(socket: Socket, error: AppError, status: number, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(problemBody(error, status)));
  const fields = { ...headers, 'content-type': 'application/problem+json', 'content-length': String(body.length), connection: 'close' };
  socket.end(Buffer.concat([Buffer.from(responseHead(status, fields), 'latin1'), body]));
}

/**
 * Turns anything thrown into an `AppError` with its code of docs/api.md: domain errors as they are,
 * Hono's HTTP exceptions (malformed JSON, wrong media type, body too large) as validation
 * failures, anything else as `internal`.
 */
export function toAppError(error: unknown): { error: AppError; status: number } {
  if (error instanceof AppError) return { error, status: error.status };
  if (error instanceof HTTPException) {
    const status = error.status;
    if (status === 413) return { error: bodyError('request body is too large'), status: 413 };
    if (status === 415) return { error: bodyError('must be application/json'), status: 400 };
    if (status === 400) return { error: bodyError(error.message || 'malformed JSON'), status: 400 };
    if (status === 404) return { error: new AppError('not_found', 'Not found'), status: 404 };
    if (status === 401) return { error: new AppError('unauthorized', error.message), status: 401 };
  }
  // The gateway's own database (keys, idempotency records) out of reach is a fault, not a bug.
  if (databaseUnreachable(error)) return { error: unreachableDatabase(), status: errorStatus.upstream_unavailable };
  return { error: new AppError('internal', 'Internal error'), status: errorStatus.internal };
}

function bodyError(message: string): AppError {
  return new AppError('validation_failed', `Invalid request body: ${message}`, { errors: [{ path: '(body)', message }] });
}
