import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import type { Logger } from './logger';

/** The first pause between attempts; each next one doubles, up to `MAX_PAUSE_MS`. */
const FIRST_PAUSE_MS = 250;
const MAX_PAUSE_MS = 5000;
/** How long one setup step keeps trying before the service gives up (and its supervisor restarts it). */
export const SETUP_BUDGET_MS = 120_000;

/** JetStream's "no suitable peers for placement": a stream of 3 replicas while a node is still joining. */
const NO_SUITABLE_PEERS = 10005;

/**
 * Whether a JetStream API failure may pass by itself: the request timed out or found no
 * responder (the cluster is electing its meta leader, a node is catching up, the machine is
 * busy), or the server answered that it cannot serve it yet (a 5xx, or no peers to place
 * replicas on). A wrong configuration or a missing permission is not: trying again changes nothing.
 */
export function isTransientJetStreamError(error: unknown): boolean {
  if (error instanceof errors.TimeoutError || error instanceof errors.NoRespondersError) return true;
  if (error instanceof errors.RequestError && error.isNoResponders()) return true;
  if (error instanceof JetStreamApiError) return error.status >= 500 || error.code === NO_SUITABLE_PEERS;
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== error && isTransientJetStreamError(cause);
}

/**
 * Runs one idempotent setup step of streams or consumers, trying again with a growing pause
 * while it fails transiently (`isTransientJetStreamError`) and `budgetMs` lasts. A service
 * starting while its JetStream cluster forms waits for it instead of exiting at the first
 * timeout; anything else fails at once.
 */
export async function retryingSetup<T>(what: string, step: () => Promise<T>, log?: Logger, budgetMs = SETUP_BUDGET_MS): Promise<T> {
  const giveUpAt = Date.now() + budgetMs;
  for (let attempt = 1, pause = FIRST_PAUSE_MS; ; attempt++, pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
    try {
      return await step();
    } catch (error) {
      if (!isTransientJetStreamError(error) || Date.now() + pause > giveUpAt) throw error;
      log?.warn({ err: error, step: what, attempt, retryInMs: pause }, 'JetStream setup failed transiently; trying again');
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
