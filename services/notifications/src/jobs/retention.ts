import { every } from '@allot/kit';
import type { Notifications } from '../context';

const DAY_MS = 86_400_000;
/** As long as the dead-letter stream keeps its records. */
const RETRIED_DEAD_LETTER_DAYS = 30;

const daysAgo = (now: Date, days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();

/** Purges read notifications older than `READ_RETENTION_DAYS` (unread ones stay, so unread counts do not move) and old retried dead letters. */
export const retention = (ntf: Notifications) =>
  every(ntf.config.RETENTION_SWEEP_MS, 'retention', async () => {
    const now = ntf.clock.now();
    const purged = await ntf.notifications.purgeRead(daysAgo(now, ntf.config.READ_RETENTION_DAYS));
    await ntf.deadLetters.purgeRetried(daysAgo(now, RETRIED_DEAD_LETTER_DAYS));
    if (purged) ntf.log.info({ purged }, 'read notifications purged');
  });
