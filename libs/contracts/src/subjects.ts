/**
 * The one list of services. Domain services own data, serve RPC and publish the events clients
 * see; the gateway calls them (and publishes its own tenancy events).
 */
export const domainServices = ['capacity', 'inventory', 'availability', 'notifications', 'webhooks'] as const;
export const services = [...domainServices, 'gateway'] as const;
export type DomainServiceName = (typeof domainServices)[number];
export type ServiceName = (typeof services)[number];

const token = /^[A-Za-z0-9_-]+$/;
function assertToken(value: string, what: string): void {
  if (!token.test(value)) throw new Error(`${what} "${value}" is not a valid subject token`);
}

/** `rpc.<service>.<operation>` — served in queue group `<service>`. */
export function rpcSubject(service: ServiceName, operation: string): string {
  return `rpc.${service}.${operation}`;
}

/** `evt.<service>.<tenantId>.<aggregate>.<verb>`; `type` is `<aggregate>.<verb>`. */
export function eventSubject(service: ServiceName, tenantId: string, type: string): string {
  assertToken(tenantId, 'tenantId');
  return `evt.${service}.${tenantId}.${type}`;
}

/** One event type of `service` across every tenant: `evt.<service>.*.<type>`. */
export function eventOfEveryTenant(service: ServiceName, type: string): string {
  return `evt.${service}.*.${type}`;
}

/** Parses an event subject back into its parts. */
export function parseEventSubject(subject: string) {
  const [prefix, service, tenantId, ...rest] = subject.split('.');
  if (prefix !== 'evt' || !service || !tenantId || rest.length < 2) return undefined;
  return { service, tenantId, type: rest.join('.') };
}

/** Every event of one service, of every tenant: the filter of its stream. */
export function eventWildcard(service: ServiceName): string {
  return `evt.${service}.>`;
}

/** One JetStream stream per producing service: `EVT_CAPACITY`, `EVT_INVENTORY`, … */
export function eventStream(service: ServiceName): string {
  return `EVT_${service.toUpperCase()}`;
}

/** Dead letters: messages that exhausted their deliveries (`dlq.<service>.<consumer>`). */
export const deadLetterStream = 'DEAD_LETTERS';
export function deadLetterSubject(service: string, consumer: string): string {
  return `dlq.${service}.${consumer}`;
}
export const deadLetterWildcard = 'dlq.>';
/**
 * Where a retried dead letter of an event consumer is re-published: a subject of the consuming
 * service's job stream that only that consumer reads, so no other consumer of the event sees it again.
 */
export function redeliverySubject(service: string, consumer: string): string {
  return `job.${service}.redeliver.${consumer}`;
}

/** Durable delayed jobs of one service (`job.<service>.<kind>`). */
export function jobStream(service: string): string {
  return `JOBS_${service.toUpperCase()}`;
}
export function jobSubject(service: string, kind: string): string {
  return `job.${service}.${kind}`;
}
export function jobWildcard(service: string): string {
  return `job.${service}.>`;
}
