import type { z } from 'zod';
import { availabilityEvents, availabilityRpc } from './domains/availability';
import { capacityEvents } from './domains/capacity';
import { capacityRpc } from './domains/capacity-rpc';
import { gatewayEvents } from './domains/gateway';
import { inventoryEvents } from './domains/inventory';
import { inventoryRpc } from './domains/inventory-rpc';
import { notificationsEvents, notificationsRpc } from './domains/notifications';
import { webhooksEvents, webhooksRpc } from './domains/webhooks';
import type { EventContract, EventEnvelope } from './envelope';
import { validationError } from './errors';
import { ping, type RpcContract } from './rpc';
import type { ServiceName } from './subjects';

/** Every event each service publishes, by type (`<aggregate>.<verb>`). */
export const eventCatalog = {
  capacity: capacityEvents,
  availability: availabilityEvents,
  inventory: inventoryEvents,
  notifications: notificationsEvents,
  webhooks: webhooksEvents,
  gateway: gatewayEvents,
} satisfies Record<ServiceName, Record<string, EventContract>>;

export type EventCatalog = typeof eventCatalog;
export type EventType<S extends ServiceName> = keyof EventCatalog[S] & string;

/** A catalogued event of service `S`, its `data` parsed: a union discriminated by `type`. */
export type CatalogEvent<S extends ServiceName> = {
  [T in EventType<S>]: EventEnvelope<EventCatalog[S][T] extends EventContract<infer D> ? z.output<D> : never> & { type: T };
}[EventType<S>];

/**
 * Validates an envelope of `source`'s events against the catalog. Undefined for a type the
 * catalog does not know (a newer producer) — consumers skip those; a known type whose payload
 * does not match throws (poison: it goes to the dead letters).
 */
export function parseCatalogEvent<S extends ServiceName>(source: S, envelope: EventEnvelope): CatalogEvent<S> | undefined {
  const contract = (eventCatalog[source] as Record<string, EventContract>)[envelope.type];
  if (!contract) return undefined;
  const data = contract.data.safeParse(envelope.data);
  if (!data.success) throw validationError(data.error);
  return { ...envelope, data: data.data } as CatalogEvent<S>;
}

/** Every RPC operation each service serves. Domain issues add their operations here. */
export const rpcCatalog = {
  capacity: { ping, ...capacityRpc },
  availability: { ping, ...availabilityRpc },
  inventory: { ping, ...inventoryRpc },
  notifications: { ping, ...notificationsRpc },
  webhooks: { ping, ...webhooksRpc },
} satisfies Partial<Record<ServiceName, Record<string, RpcContract>>>;

export type RpcCatalog = typeof rpcCatalog;
