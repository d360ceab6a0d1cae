/**
 * What each service's NATS user may do: the one list deploy/k8s and docker-compose.yml are
 * generated from (tools/deploy-gen) and that `make test` checks them against. A service may publish
 * its own events, dead letters and jobs, the RPCs it calls, and the JetStream API of its own
 * streams and of the consumers it runs; it may subscribe to its own RPCs and to its private
 * inbox. Replies to requests it serves go out through `allow_responses` (the requester's inbox).
 */
import { availabilityRpc } from './domains/availability';
import { capacityRpc } from './domains/capacity-rpc';
import { inventoryRpc } from './domains/inventory-rpc';
import { notificationsRpc } from './domains/notifications';
import { webhooksRpc } from './domains/webhooks';
import {
  type DomainServiceName,
  deadLetterStream,
  deadLetterSubject,
  domainServices,
  eventOfEveryTenant,
  eventStream,
  eventWildcard,
  jobStream,
  jobWildcard,
  redeliverySubject,
  rpcSubject,
  type ServiceName,
  services,
} from './subjects';

export interface NatsRights {
  publish: string[];
  /** Subjects refused although `publish` would allow them (other services' consumers). */
  publishDeny: string[];
  subscribe: string[];
}

/**
 * A service's private reply subjects: its connection's inbox prefix (`_INBOX_<service>`), so no
 * other user may subscribe to its replies (every user's own prefix differs, none is `_INBOX.>`).
 */
export function inboxPrefix(service: ServiceName): string {
  return `_INBOX_${service}`;
}

const api = '$JS.API';

/** The operations each service serves (`rpc.<service>.<op>`), besides `ping`. */
export const operations: Record<DomainServiceName, string[]> = {
  capacity: Object.keys(capacityRpc),
  inventory: Object.keys(inventoryRpc),
  availability: Object.keys(availabilityRpc),
  notifications: Object.keys(notificationsRpc),
  webhooks: Object.keys(webhooksRpc),
};

/** Operations across every tenant, for the one service that rebuilds from them (not for the gateway). */
const platformOnly = (operation: string) => operation.startsWith('readModel.');

/** The client-message stream of the gateway's SSE (its own, read only by its own consumers). */
export const clientStream = 'CLIENT';

/**
 * The durable consumers each service runs on streams it shares with others (its job stream's
 * consumers are all its own and not listed). A service that starts a durable not listed here is
 * refused by NATS: the end-to-end tests run every service as its deployed user.
 */
export const durableConsumers: Record<ServiceName, { stream: string; name: string }[]> = {
  capacity: [],
  inventory: [],
  availability: [{ stream: eventStream('capacity'), name: 'availability-read-model' }],
  notifications: [
    { stream: eventStream('capacity'), name: 'notifications-capacity' },
    { stream: eventStream('inventory'), name: 'notifications-inventory' },
    { stream: eventStream('webhooks'), name: 'notifications-webhooks' },
    { stream: deadLetterStream, name: 'notifications-dead-letters' },
  ],
  // Every other service's public events, fanned out to the tenants' endpoints.
  webhooks: services.filter((s) => s !== 'webhooks').map((s) => ({ stream: eventStream(s), name: `webhooks-${s}` })),
  gateway: domainServices.map((s) => ({ stream: eventStream(s), name: 'gateway-client-messages' })),
};

/**
 * The ordered (ephemeral) consumers each service makes on a shared stream, by filter. Their names
 * are random, so the create and pull subjects are granted for any name with that filter, and
 * every other service's durable on the stream is denied by name (the server would otherwise let
 * a create named like an existing consumer rewrite it, and a pull take its messages).
 */
export const orderedConsumers: Record<ServiceName, { stream: string; filter: string }[]> = {
  capacity: [],
  inventory: [],
  availability: [
    // Each replica's live feed: capacity's events and its own announcements.
    { stream: eventStream('capacity'), filter: eventWildcard('capacity') },
    { stream: eventStream('availability'), filter: eventOfEveryTenant('availability', 'availability.updated') },
  ],
  notifications: [],
  webhooks: [],
  gateway: [],
};

/** A stream the service owns: it creates it and brings it to its configuration. */
const ownStream = (stream: string) => [`${api}.STREAM.INFO.${stream}`, `${api}.STREAM.CREATE.${stream}`, `${api}.STREAM.UPDATE.${stream}`];

/**
 * A stream someone else owns that the service needs to exist: it may look it up and create it
 * if missing (a create never changes a stream that exists), never update or delete it.
 */
const sharedStream = (stream: string) => [`${api}.STREAM.INFO.${stream}`, `${api}.STREAM.CREATE.${stream}`];

/** One named durable pull consumer: create/update it, look it up, pull from it, acknowledge. */
const durable = ({ stream, name }: { stream: string; name: string }) => [
  ...sharedStream(stream),
  `${api}.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
  `${api}.CONSUMER.INFO.${stream}.${name}`,
  `${api}.CONSUMER.MSG.NEXT.${stream}.${name}`,
  `$JS.ACK.${stream}.${name}.>`,
];

/** Ordered consumers with this filter: created through the subject naming consumer and filter, pulled by name. */
const ordered = ({ stream, filter }: { stream: string; filter: string }) => [
  `${api}.STREAM.INFO.${stream}`,
  `${api}.CONSUMER.CREATE.${stream}.*.${filter}`,
  `${api}.CONSUMER.MSG.NEXT.${stream}.*`,
];

/** Every consumer another service runs on `stream`: what an ordered consumer's grant must not reach. */
const othersDurables = (service: ServiceName, stream: string) =>
  services
    .filter((s) => s !== service)
    .flatMap((s) => durableConsumers[s].filter((c) => c.stream === stream))
    .flatMap(({ name }) => [`${api}.CONSUMER.CREATE.${stream}.${name}.>`, `${api}.CONSUMER.MSG.NEXT.${stream}.${name}`]);

/** Durable consumers of any name on a stream only the service reads (its job stream). */
const anyDurableOf = (stream: string) => [
  `${api}.CONSUMER.DURABLE.CREATE.${stream}.*`,
  `${api}.CONSUMER.INFO.${stream}.*`,
  `${api}.CONSUMER.MSG.NEXT.${stream}.*`,
  `$JS.ACK.${stream}.>`,
];

/** Ordered consumers of any name and filter on a stream only the service reads (the gateway's CLIENT). */
const anyOrderedOf = (stream: string) => [
  `${api}.CONSUMER.CREATE.${stream}`,
  `${api}.CONSUMER.CREATE.${stream}.>`,
  `${api}.CONSUMER.MSG.NEXT.${stream}.*`,
  // A reset ordered consumer removes the one it replaces.
  `${api}.CONSUMER.DELETE.${stream}.*`,
];

/** What every service does: its RPCs, inbox, events, jobs (and redelivered dead letters), dead letters and account lookup. */
function base(service: ServiceName): Omit<NatsRights, 'publishDeny'> {
  return {
    publish: [
      eventWildcard(service),
      jobWildcard(service),
      deadLetterSubject(service, '>'),
      `${api}.INFO`,
      ...ownStream(eventStream(service)),
      ...ownStream(jobStream(service)),
      ...anyDurableOf(jobStream(service)),
      ...sharedStream(deadLetterStream),
    ],
    subscribe: [`rpc.${service}.>`, `${inboxPrefix(service)}.>`],
  };
}

const extra: Record<ServiceName, Omit<NatsRights, 'publishDeny'>> = {
  capacity: { publish: [], subscribe: [] },
  inventory: { publish: [], subscribe: [] },
  availability: {
    // The read-model rebuild: exactly capacity's cross-tenant read operations.
    publish: operations.capacity.filter(platformOnly).map((op) => rpcSubject('capacity', op)),
    subscribe: [],
  },
  notifications: {
    publish: [
      // The platform's dead-letter inbox: it reads, removes and keeps the stream's configuration.
      `${api}.STREAM.UPDATE.${deadLetterStream}`,
      `${api}.STREAM.MSG.DELETE.${deadLetterStream}`,
      // A retried dead letter goes back to the service that gave up on it, on its redelivery subjects.
      ...services.map((s) => redeliverySubject(s, '>')),
    ],
    subscribe: [],
  },
  webhooks: { publish: [], subscribe: [] },
  gateway: {
    publish: [
      ...domainServices.flatMap((s) => [
        rpcSubject(s, 'ping'),
        ...operations[s].filter((op) => !platformOnly(op)).map((op) => rpcSubject(s, op)),
      ]),
      // Client messages of the SSE streams: its own stream, read with ordered consumers and direct gets.
      'client.>',
      ...ownStream(clientStream),
      ...anyOrderedOf(clientStream),
      `${api}.DIRECT.GET.${clientStream}`,
    ],
    // Key revocations made on other replicas.
    subscribe: [eventOfEveryTenant('gateway', 'apikey.revoked')],
  },
};

/** The NATS rights of `service`'s user (each subject once, in a stable order). */
export function natsRights(service: ServiceName): NatsRights {
  const own = base(service);
  const more = extra[service];
  const consumers = [...durableConsumers[service].flatMap(durable), ...orderedConsumers[service].flatMap(ordered)];
  const deny = orderedConsumers[service].flatMap(({ stream }) => othersDurables(service, stream));
  return {
    publish: [...new Set([...own.publish, ...more.publish, ...consumers])],
    publishDeny: [...new Set(deny)],
    subscribe: [...new Set([...own.subscribe, ...more.subscribe])],
  };
}

/** The environment variable a NATS server reads a service user's password from. */
export const natsPasswordVariable = (service: ServiceName) => `NATS_PASSWORD_${service}`;

const quotedList = (subjects: string[]) => subjects.map((x) => `            ${JSON.stringify(x)}`).join('\n');

/**
 * A nats-server `authorization` block: one user per service, allowed exactly `natsRights`.
 * `password` gives each user's password as configuration text: by default a reference to the
 * server's environment (`$NATS_PASSWORD_<service>`), as compose and Kubernetes deploy it.
 */
export function natsAuthorization(
  users: readonly ServiceName[],
  options: { password?: (service: ServiceName) => string; extraUsers?: string[] } = {},
): string {
  const password = options.password ?? ((s: ServiceName) => `$${natsPasswordVariable(s)}`);
  const user = (name: ServiceName) => {
    const rights = natsRights(name);
    return [
      '    {',
      `      user: ${name}`,
      `      password: ${password(name)}`,
      '      permissions: {',
      '        publish: {',
      '          allow: [',
      quotedList(rights.publish),
      '          ]',
      ...(rights.publishDeny.length ? ['          deny: [', quotedList(rights.publishDeny), '          ]'] : []),
      '        }',
      '        subscribe: {',
      '          allow: [',
      quotedList(rights.subscribe),
      '          ]',
      '        }',
      // Answers to the requests it serves go to the requester's inbox, each at most once.
      '        allow_responses: true',
      '      }',
      '    }',
    ].join('\n');
  };
  return ['authorization {', '  users: [', ...users.map(user), ...(options.extraUsers ?? []), '  ]', '}', ''].join('\n');
}

/**
 * NATS for a local stack (`make dev`, end-to-end tests): every service's user as deployed, with
 * these passwords, and for connections without credentials (a developer's `nats` CLI, a test
 * reading a stream) an unrestricted user — on a server that listens on the loopback only.
 */
export function localNatsConfig(passwords: Record<ServiceName, string>): string {
  return [
    'no_auth_user: local',
    natsAuthorization(services, {
      password: (s) => JSON.stringify(passwords[s]),
      extraUsers: ['    { user: local, password: "local-only-not-deployed" }'],
    }),
  ].join('\n');
}
