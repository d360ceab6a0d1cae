/** A tenant's quota on bulk sends: its defaults and the checks a new send must pass. Pure. */
import { AppError, type BulkLimits } from '@allot/contracts';

/**
 * Ten unfinished sends of up to 50,000 recipients together; one send stores at most 384 KiB
 * (10,000 recipients with 36-character ids, and the text).
 */
export const defaultBulkLimits: BulkLimits = {
  maxQueuedBulkSends: 10,
  maxQueuedBulkRecipients: 50_000,
  maxBulkSendBytes: 384 * 1024,
};

/** The bytes a send stores: its recipients' ids, its title and its message (UTF-8). */
export function bulkSendBytes(recipients: readonly string[], title: string, message: string): number {
  return recipients.reduce((sum, id) => sum + Buffer.byteLength(id), 0) + Buffer.byteLength(title) + Buffer.byteLength(message);
}

/** A send larger than the tenant allows can never be accepted as it is: it must be split. */
export function checkSendBytes(limits: BulkLimits, bytes: number): void {
  if (bytes > limits.maxBulkSendBytes) {
    throw new AppError('validation_failed', `A bulk send may store at most ${limits.maxBulkSendBytes} bytes; split it into smaller sends`, {
      errors: [
        {
          path: 'userIds',
          message: `the send stores ${bytes} bytes (recipient ids, title and message); the limit is ${limits.maxBulkSendBytes}`,
        },
      ],
      limit: 'maxBulkSendBytes',
      maxBulkSendBytes: limits.maxBulkSendBytes,
    });
  }
}

/** What a tenant has queued: unfinished sends and their recipients together. */
export interface BulkBacklog {
  sends: number;
  recipients: number;
}

/** Whether one more send of `recipients` fits the tenant's quota next to what it has queued. */
export const fitsQuota = (limits: BulkLimits, backlog: BulkBacklog, recipients: number) =>
  backlog.sends < limits.maxQueuedBulkSends && backlog.recipients + recipients <= limits.maxQueuedBulkRecipients;

/** Over the quota: retry once some of the tenant's sends have finished. */
export function quotaExceeded(limits: BulkLimits, backlog: BulkBacklog, recipients: number): AppError {
  const sends = backlog.sends >= limits.maxQueuedBulkSends;
  return new AppError(
    'quota_exceeded',
    sends
      ? `At most ${limits.maxQueuedBulkSends} bulk sends may wait at once; retry when one has finished`
      : `At most ${limits.maxQueuedBulkRecipients} recipients may wait in bulk sends at once (${backlog.recipients} wait, this send adds ${recipients}); retry when some have finished`,
    {
      limit: sends ? 'maxQueuedBulkSends' : 'maxQueuedBulkRecipients',
      maxQueuedBulkSends: limits.maxQueuedBulkSends,
      maxQueuedBulkRecipients: limits.maxQueuedBulkRecipients,
      queuedSends: backlog.sends,
      queuedRecipients: backlog.recipients,
    },
  );
}
