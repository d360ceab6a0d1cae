import { eventOfEveryTenant, parseCatalogEvent } from '@allot/contracts';
import type { EventSubscription } from '@allot/kit';
import type { Notifications } from '../context';
import { capacityNotifications, inventoryNotifications } from '../domain/messages';
import { notifyFrom } from '../notify';

const capacityTypes = ['queue.promoted', 'queue.expired', 'booking.confirmed', 'booking.cancelled', 'alert.raised'];
const inventoryTypes = ['order.reserved', 'order.failed', 'stock.low_detected'];

/** The events of SPEC §7's table, each turned into its notifications (one per event and recipient). */
export const eventConsumers = (ntf: Notifications): EventSubscription[] => [
  {
    source: 'capacity',
    durable: 'notifications-capacity',
    filterSubjects: capacityTypes.map((type) => eventOfEveryTenant('capacity', type)),
    handler: async (envelope) => {
      const event = parseCatalogEvent('capacity', envelope);
      if (event) await notifyFrom(ntf, event.tenantId, event.id, capacityNotifications(event));
    },
  },
  {
    source: 'inventory',
    durable: 'notifications-inventory',
    filterSubjects: inventoryTypes.map((type) => eventOfEveryTenant('inventory', type)),
    handler: async (envelope) => {
      const event = parseCatalogEvent('inventory', envelope);
      if (event) await notifyFrom(ntf, event.tenantId, event.id, inventoryNotifications(event));
    },
  },
];
