import { type CatalogEvent, eventOfEveryTenant, parseCatalogEvent } from '@allot/contracts';
import type { EventSubscription } from '@allot/kit';
import type { Notifications } from '../context';
import { capacityNotifications, type Draft, inventoryNotifications, webhooksNotifications } from '../domain/messages';
import { notifyFrom } from '../notify';

/** A durable consumer of `types` of `source`, storing the notifications `drafts` makes of each. */
function notifyingConsumer<S extends 'capacity' | 'inventory' | 'webhooks'>(
  ntf: Notifications,
  source: S,
  types: string[],
  drafts: (event: CatalogEvent<S>) => Draft[],
): EventSubscription {
  return {
    source,
    durable: `notifications-${source}`,
    filterSubjects: types.map((type) => eventOfEveryTenant(source, type)),
    // Each event's notifications join one insert with those of the other events in hand: 16 at
    // once made those inserts 4 documents each in a burst, and FerretDB pays per command.
    concurrency: 64,
    handler: async (envelope) => {
      const event = parseCatalogEvent(source, envelope);
      if (event) await notifyFrom(ntf, event.tenantId, event.id, drafts(event));
    },
  };
}

/** The events of the README's table, each turned into its notifications (one per event and recipient). */
export const eventConsumers = (ntf: Notifications): EventSubscription[] => [
  notifyingConsumer(
    ntf,
    'capacity',
    ['queue.promoted', 'queue.expired', 'booking.confirmed', 'booking.cancelled', 'alert.raised', 'report.updated'],
    capacityNotifications,
  ),
  notifyingConsumer(ntf, 'inventory', ['order.reserved', 'order.failed', 'stock.low_detected', 'report.updated'], inventoryNotifications),
  notifyingConsumer(ntf, 'webhooks', ['endpoint.disabled'], webhooksNotifications),
];
