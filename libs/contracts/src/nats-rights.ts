/**
 * What each service's NATS user may do: the one list deploy/k8s and docker-compose.yml are
 * generated from (tools/deploy) and that `make test` checks them against. A service may publish
 * its own events, dead letters and jobs, the RPCs it calls, and the JetStream API of its own
 * streams and of the consumers it runs; it may subscribe to its own RPCs and to its private
 * inbox. Replies to requests it serves go out through `allow_responses` (the requester's inbox).
 */
import { availabilityRpc } from './domains/availability';
import { capacityRpc } from './domains/capacity-rpc';
import { inventoryRpc } from './domains/inventory-rpc';
import { notificationRpc } from './domains/notifications';
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
  notifications: Object.keys(notificationRpc),
};

/** Operations across every tenant, for the one service that rebuilds from them (not for the gateway). */
const platformOnly = (operation: string) => operation.startsWith('readModel.');

/** A stream the service owns: it creates it and brings it to its configuration. */
const ownStream = (stream: string) => [`${api}.STREAM.INFO.${stream}`, `${api}.STREAM.CREATE.${stream}`, `${api}.STREAM.UPDATE.${stream}`];

/**
 * A stream someone else owns that the service needs to exist: it may look it up and create it
 * if missing (a create never changes a stream that exists), never update or delete it.
 */
const sharedStream = (stream: string) => [`${api}.STREAM.INFO.${stream}`, `${api}.STREAM.CREATE.${stream}`];

/** One named durable pull consumer: create/update it, look it up, pull from it, acknowledge. */
const durable = (stream: string, name: string) => [
  `${api}.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
  `${api}.CONSUMER.INFO.${stream}.${name}`,
  `${api}.CONSUMER.MSG.NEXT.${stream}.${name}`,
  `$JS.ACK.${stream}.${name}.>`,
];

/**
 * Ordered consumers: ephemeral, named by the client at random, so the name cannot be granted;
 * the server refuses a durable name on the ephemeral create subject. Pulling needs the consumer
 * name, hence `*` — only ever granted on streams whose other consumers would be the service's own,
 * except where noted (availability's live feed of capacity events).
 */
const ordered = (stream: string) => [
  `${api}.CONSUMER.CREATE.${stream}`,
  `${api}.CONSUMER.CREATE.${stream}.*`,
  `${api}.CONSUMER.MSG.NEXT.${stream}.*`,
];

/** The job stream of a service is its alone: any consumer on it is its own. */
const ownJobs = (service: ServiceName) => {
  const stream = jobStream(service);
  return [
    ...ownStream(stream),
    `${api}.CONSUMER.DURABLE.CREATE.${stream}.*`,
    `${api}.CONSUMER.INFO.${stream}.*`,
    `${api}.CONSUMER.MSG.NEXT.${stream}.*`,
    `$JS.ACK.${stream}.>`,
  ];
};

/** What every service does: its RPCs, inbox, events, jobs, dead letters and account lookup. */
function base(service: ServiceName): NatsRights {
  return {
    publish: [
      eventWildcard(service),
      jobWildcard(service),
      deadLetterSubject(service, '>'),
      `${api}.INFO`,
      ...ownStream(eventStream(service)),
      ...ownJobs(service),
      ...sharedStream(deadLetterStream),
    ],
    subscribe: [`rpc.${service}.>`, `${inboxPrefix(service)}.>`],
  };
}

/** Consumes another service's events with durable `name` (a redelivered dead letter of it arrives on its own job stream). */
const consumes = (source: DomainServiceName, name: string) => [...sharedStream(eventStream(source)), ...durable(eventStream(source), name)];

const extra: Record<ServiceName, NatsRights> = {
  capacity: { publish: [], subscribe: [] },
  inventory: { publish: [], subscribe: [] },
  availability: {
    publish: [
      // The read-model rebuild: exactly capacity's cross-tenant read operations.
      ...operations.capacity.filter(platformOnly).map((op) => rpcSubject('capacity', op)),
      ...consumes('capacity', 'availability-read-model'),
      // Each replica's live feed: capacity's events and its own announcements, with ordered consumers.
      ...ordered(eventStream('capacity')),
      ...ordered(eventStream('availability')),
    ],
    subscribe: [],
  },
  notifications: {
    publish: [
      ...consumes('capacity', 'notifications-capacity'),
      ...consumes('inventory', 'notifications-inventory'),
      // The platform's dead-letter inbox: it reads, removes and keeps the stream's configuration.
      `${api}.STREAM.UPDATE.${deadLetterStream}`,
      ...durable(deadLetterStream, 'notifications-dead-letters'),
      `${api}.STREAM.MSG.DELETE.${deadLetterStream}`,
      // A retried dead letter goes back to the service that gave up on it, on its redelivery subjects.
      ...services.map((s) => redeliverySubject(s, '>')),
    ],
    subscribe: [],
  },
  gateway: {
    publish: [
      ...domainServices.flatMap((s) => [
        rpcSubject(s, 'ping'),
        ...operations[s].filter((op) => !platformOnly(op)).map((op) => rpcSubject(s, op)),
      ]),
      // Client messages of the SSE streams: its own stream CLIENT, fed by one durable consumer per domain stream.
      'client.>',
      ...ownStream('CLIENT'),
      ...ordered('CLIENT'),
      `${api}.CONSUMER.DELETE.CLIENT.*`,
      `${api}.DIRECT.GET.CLIENT`,
      ...domainServices.flatMap((s) => consumes(s, 'gateway-client-messages')),
    ],
    // Key revocations made on other replicas.
    subscribe: [eventOfEveryTenant('gateway', 'apikey.revoked')],
  },
};

/** The NATS rights of `service`'s user (each subject once, in a stable order). */
export function natsRights(service: ServiceName): NatsRights {
  const own = base(service);
  const more = extra[service];
  return {
    publish: [...new Set([...own.publish, ...more.publish])],
    subscribe: [...new Set([...own.subscribe, ...more.subscribe])],
  };
}

/** The environment variable a NATS server reads a service user's password from. */
export const natsPasswordVariable = (service: ServiceName) => `NATS_PASSWORD_${service}`;

const quotedList = (subjects: string[]) => subjects.map((x) => `          ${JSON.stringify(x)}`).join('\n');

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
      '        publish: { allow: [',
      quotedList(rights.publish),
      '        ] }',
      '        subscribe: { allow: [',
      quotedList(rights.subscribe),
      '        ] }',
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
