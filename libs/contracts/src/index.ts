// The contracts' public surface: every name another package may use, listed on purpose. A
// schema or helper not listed here is an implementation detail of this package.

// The AsyncAPI document of every event and operation (written to docs/asyncapi.json).
export { buildAsyncApi } from './asyncapi';
export {
  type CatalogEvent,
  type EventCatalog,
  type EventType,
  eventCatalog,
  parseCatalogEvent,
  type RpcCatalog,
  rpcCatalog,
} from './catalog';
// Availability: the per-date read model, its alerts and queries.
export {
  Availability,
  AvailabilityAlert,
  type AvailabilityRpc,
  AvailabilityUpdated,
  availabilityEvents,
  availabilityRpc,
  MAX_RANGE_DAYS,
  RefreshAvailability,
} from './domains/availability';
// Capacity: sessions, bookings and the waiting queue; its events and operations.
export {
  Booking,
  BookingStatus,
  BookingType,
  CapacityAlert,
  CapacityAlertType,
  capacityEvents,
  QueueEntry,
  QueueEntryStatus,
  Session,
  SlotSnapshot,
} from './domains/capacity';
export {
  Analytics,
  AnalyticsQuery,
  CapacityAdjusted,
  CapacityAlertsQuery,
  CapacityCheckResult,
  type CapacityRpc,
  CheckCapacity,
  CreateBooking,
  CreateSession,
  capacityRpc,
  HoardingLimits,
  JoinQueue,
  ListBookings,
  ListSessions,
  QueueStatus,
  QueueStatusQuery,
  ReadModelQuery,
  SessionDate,
  SetCapacity,
  UpdateHoardingLimits,
  UpdateSession,
} from './domains/capacity-rpc';
// Gateway: tenants and API keys, and the events it publishes about them.
export { ApiKey, gatewayEvents, Tenant } from './domains/gateway';
// Imports: files of rows applied by the service that owns their type.
export { BookingRow, CapacityRow, ExternalId, importRows, SessionRow } from './domains/import-rows';
export {
  BeginImport,
  IMPORT_CHUNK_BYTES,
  IMPORT_ERRORS_SHOWN,
  Import,
  ImportChunk,
  ImportErrorsQuery,
  ImportFormat,
  ImportMapping,
  ImportOptions,
  ImportRowError,
  ImportStatus,
  ImportType,
  importOwner,
  importRpc,
  StartImport,
} from './domains/imports';
// Inventory: SKUs, stock movements and orders; its events and operations.
export { inventoryEvents, Movement, MovementType, Order, OrderFailureReason, OrderStatus, Sku, SkuCode } from './domains/inventory';
export {
  Adjust,
  CreateOrder,
  CreateSku,
  type InventoryRpc,
  inventoryRpc,
  ListOrders,
  OrderLimits,
  Restock,
  SkuRef,
  SupplierWebhook,
  UpdateOrderLimits,
  WebhookReceipt,
} from './domains/inventory-rpc';
// Notifications: user feeds, bulk sends and dead letters; its events and operations.
export {
  BulkJob,
  BulkLimits,
  BulkRequest,
  DeadLetterId,
  DeadLetterView,
  ListDeadLetters,
  ListNotifications,
  Notification,
  type NotificationsRpc,
  notificationsEvents,
  notificationsRpc,
  UpdateBulkLimits,
} from './domains/notifications';
// Webhooks: a tenant's endpoints for outbound events, and the deliveries to them.
export {
  CreatedWebhookEndpoint,
  CreateWebhookEndpoint,
  DeliveryAttempt,
  DeliveryStatus,
  ListWebhookDeliveries,
  ListWebhookEndpoints,
  UpdateWebhookEndpoint,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEventType,
  WebhookRecovery,
  WebhookSecret,
  type WebhooksRpc,
  webhooksEvents,
  webhooksRpc,
} from './domains/webhooks';
// Events: the envelope each one travels in, and the catalog of every service's events.
export { type EventContract, EventEnvelope } from './envelope';
// Errors: the codes every layer speaks, their HTTP statuses, and how validation failures read.
export { AppError, ErrorBody, ErrorCode, errorStatus, FieldError, fieldErrors, quantity, validationError } from './errors';
// NATS rights: what each service may publish and subscribe to, and the server configuration.
export {
  durableConsumers,
  inboxPrefix,
  localNatsConfig,
  type NatsRights,
  natsAuthorization,
  natsPasswordVariable,
  natsRights,
} from './nats-rights';
// Shared field schemas: ids, dates, timestamps, paging.
export { Bool, FIRST_DATE, Id, IsoDate, LAST_DATE, Pagination, page, Timestamp, UserId } from './primitives';
// RPC: the request and reply envelopes and how an operation's contract is declared.
export { Actor, ping, platformRpc, type RpcContract, RpcReply, RpcRequest, rpc, type TenantScope } from './rpc';
// NATS subjects and streams: where each service's requests, events, jobs and dead letters go.
export {
  type DomainServiceName,
  deadLetterStream,
  deadLetterSubject,
  deadLetterWildcard,
  domainServices,
  eventOfEveryTenant,
  eventStream,
  eventSubject,
  eventWildcard,
  jobStream,
  jobSubject,
  jobWildcard,
  parseEventSubject,
  redeliverySubject,
  rpcSubject,
  type ServiceName,
  services,
} from './subjects';
