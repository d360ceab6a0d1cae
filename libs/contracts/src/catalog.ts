import { availabilityEvents } from './domains/availability';
import { capacityEvents } from './domains/capacity';
import { capacityRpc } from './domains/capacity-rpc';
import { inventoryEvents } from './domains/inventory';
import { notificationEvents } from './domains/notifications';
import { gatewayEvents } from './domains/tenancy';
import type { EventContract } from './envelope';
import { ping, type RpcContract } from './rpc';
import type { ServiceName } from './subjects';

/** Every event each service publishes, by type (`<aggregate>.<verb>`). */
export const eventCatalog = {
  capacity: capacityEvents,
  availability: availabilityEvents,
  inventory: inventoryEvents,
  notifications: notificationEvents,
  gateway: gatewayEvents,
} satisfies Record<ServiceName, Record<string, EventContract>>;

export type EventCatalog = typeof eventCatalog;
export type EventType<S extends ServiceName> = keyof EventCatalog[S] & string;

/** Every RPC operation each service serves. Domain issues add their operations here. */
export const rpcCatalog = {
  capacity: { ping, ...capacityRpc },
  availability: { ping },
  inventory: { ping },
  notifications: { ping },
} satisfies Partial<Record<ServiceName, Record<string, RpcContract>>>;
