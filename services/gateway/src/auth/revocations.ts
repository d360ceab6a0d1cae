import { EventEnvelope, eventOfEveryTenant, parseCatalogEvent } from '@allot/contracts';
import type { BackgroundWork } from '@allot/kit';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ApiKeyVerifier } from './api-keys';

/**
 * Revocations made on any replica reach this one at once, on a plain subscription every replica
 * has (the key cache, and the verifier's rechecks of keys with open streams, are the fallback).
 */
export function revocationListener(nc: NatsConnection, verifier: ApiKeyVerifier): BackgroundWork {
  return {
    name: 'api-key-revocations',
    start() {
      const subscription = nc.subscribe(eventOfEveryTenant('gateway', 'apikey.revoked'), {
        callback: (_error, msg) => {
          try {
            const event = parseCatalogEvent('gateway', EventEnvelope.parse(msg.json()));
            if (event?.type === 'apikey.revoked') verifier.forget(event.data.keyId);
          } catch {
            // Not a revocation this replica understands: its key cache lets the key go within seconds anyway.
          }
        },
      });
      return {
        async stop() {
          verifier.stop();
          subscription.unsubscribe();
        },
      };
    },
  };
}
