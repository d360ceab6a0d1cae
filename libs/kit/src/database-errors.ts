import { AppError } from '@allot/contracts';
import {
  MongoBulkWriteError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';

/** What the driver throws when the database cannot be reached (lost connection, none to select, client closed). */
const unreachable = [MongoNetworkError, MongoServerSelectionError, MongoTopologyClosedError, MongoNotConnectedError];

/**
 * True when an operation failed because the database could not be reached — not a bug but a
 * fault whose outcome is unknown (the write may have landed), which callers answer as
 * `upstream_unavailable` (503: retry with the same Idempotency-Key), not `internal`. A bulk write
 * cut short carries the network error it met.
 */
export function databaseUnreachable(error: unknown): boolean {
  const cause = error instanceof MongoBulkWriteError ? error.errorResponse : error;
  return unreachable.some((type) => cause instanceof type);
}

/** The answer to a request whose database could not be reached. */
export const unreachableDatabase = () =>
  new AppError('upstream_unavailable', 'The database did not answer: the outcome is unknown, retry with the same Idempotency-Key');
