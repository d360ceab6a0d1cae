import type { MongoClient } from 'mongodb';
import type { Logger } from './logger';

/**
 * How long one check of the server by the driver may stay unfinished before it counts as stuck:
 * well past the driver's own limit on it (its connect timeout, 30 s by default).
 */
export const STUCK_CHECK_MS = 45_000;

/**
 * Reconnects the MongoDB client when its server monitor is stuck. The Node driver checks its
 * server in the background and selects it for operations only once a check has passed. With
 * FerretDB restarted under load, a check begun around the restart sometimes never ended — not
 * even at the driver's own timeout — so the server stayed "unknown" and every operation failed
 * server selection for good, while other clients of the same database went on (about one restart
 * in five per client on this machine; in the fault suite that left a replica answering 503 for
 * minutes). Closing the client and connecting it again starts a fresh monitor; operations already
 * waiting fail (their callers retry, as after any database error) and the next ones go through.
 * Stops by itself once the client is closed by its owner.
 */
export function reconnectWhenStuck(client: MongoClient, log: Logger, stuckAfterMs = STUCK_CHECK_MS): void {
  let checkingSince: number | undefined;
  /** Closed by this watchdog and not connected again yet (connecting is tried again each tick). */
  let disconnected = false;
  let busy = false;
  let closedByOwner = false;
  client.on('serverHeartbeatStarted', () => {
    checkingSince ??= Date.now();
  });
  const ended = () => {
    checkingSince = undefined;
  };
  client.on('serverHeartbeatSucceeded', ended);
  client.on('serverHeartbeatFailed', ended);
  client.on('topologyClosed', () => {
    if (!busy) closedByOwner = true;
  });
  const timer = setInterval(
    async () => {
      if (closedByOwner) return clearInterval(timer);
      if (busy) return;
      const stuck = checkingSince !== undefined && Date.now() - checkingSince >= stuckAfterMs;
      if (!stuck && !disconnected) return;
      busy = true;
      try {
        if (stuck) {
          log.error(
            { checkingForMs: Date.now() - (checkingSince ?? 0) },
            'the MongoDB driver has been checking its server too long; reconnecting',
          );
          checkingSince = undefined;
          disconnected = true;
          await client.close();
        }
        await client.connect();
        disconnected = false;
        log.info('MongoDB client reconnected');
      } catch (error) {
        log.warn({ err: error }, 'reconnecting the MongoDB client failed; will try again');
      } finally {
        busy = false;
      }
    },
    Math.min(5000, stuckAfterMs / 2),
  );
  timer.unref();
}
