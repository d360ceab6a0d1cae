/** docker-compose.yml: the whole platform on one machine, built from this repository's Dockerfile. */
import { natsAuthorization, natsPasswordVariable } from '@allot/contracts';
import { mongoUsersScript, passwordPrefix, serviceMongoUrl } from './mongo-users';
import type { Deployable } from './services';

/** A compose variable reference, `${…}`, resolved by docker compose from the environment or `.env`. */
const variable = (expression: string) => ['$', '{', expression, '}'].join('');

const readyCheck = (port: number) => ({
  // The runtime image has node but no curl or wget.
  test: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${port}/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
  interval: '5s',
  timeout: '3s',
  retries: 30,
  start_period: '10s',
});

/** A required secret of the `.env` file (tools/deploy-gen/env.sh writes one with random values). */
const required = (name: string) => variable(`${name}:?set ${name} in .env (tools/deploy-gen/env.sh writes one)`);
const mongoPassword = (service: string) => `${passwordPrefix}${service}`;

const mongoInit = [
  "try { rs.status(); } catch (e) { rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'mongo:27017' }] }); }",
  'while (!db.hello().isWritablePrimary) sleep(500);',
  "db.adminCommand({ setDefaultRWConcern: 1, defaultWriteConcern: { w: 'majority' } });",
  mongoUsersScript,
].join(' ');

/**
 * MongoDB with authentication: a replica set needs a key file for that, made once on the data
 * volume (readable by mongod only) before the image's entrypoint creates the root user.
 */
const mongoStart = [
  'test -f /data/db/keyfile || { head -c 756 /dev/urandom | base64 -w0 > /data/db/keyfile; };',
  'chmod 400 /data/db/keyfile; chown 999:999 /data/db/keyfile;',
  'exec docker-entrypoint.sh mongod --replSet rs0 --bind_ip_all --keyFile /data/db/keyfile',
].join(' ');

/** NATS's configuration in compose: JetStream on the volume and the same users as Kubernetes. */
export function composeNatsConfig(services: Deployable[]): string {
  return [
    '# NATS of docker-compose.yml: JetStream on the nats-data volume, one user per service, each',
    '# allowed exactly its declared subjects (passwords from .env, as NATS_PASSWORD_<service>).',
    'port: 4222',
    'http_port: 8222',
    'max_payload: 1MB',
    'jetstream { store_dir: /data }',
    '',
    natsAuthorization(services.map((s) => s.name)),
  ].join('\n');
}

function service(s: Deployable, domain: Deployable[], simulator: boolean) {
  const dependsOn: Record<string, { condition: string }> = {
    nats: { condition: 'service_healthy' },
    'mongo-init': { condition: 'service_completed_successfully' },
    jaeger: { condition: 'service_started' },
  };
  if (s.public) for (const d of domain) dependsOn[d.name] = { condition: 'service_healthy' };
  if (s.name === 'inventory' && simulator) dependsOn['supplier-sim'] = { condition: 'service_started' };
  return {
    build: { context: '.', args: { SERVICE: s.name } },
    image: `allot/${s.name}:dev`,
    read_only: true,
    tmpfs: ['/tmp'],
    environment: {
      NATS_URL: 'nats://nats:4222',
      NATS_USER: s.name,
      NATS_PASSWORD: required(natsPasswordVariable(s.name)),
      MONGO_URL: serviceMongoUrl(s.name, required(mongoPassword(s.name)), 'mongo:27017'),
      PORT: '8080',
      LOG_LEVEL: variable('LOG_LEVEL:-info'),
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
      OTEL_SERVICE_NAME: s.name,
      ...(s.public
        ? {
            ROOT_API_KEY: required('ROOT_API_KEY'),
            USER_TOKEN_SECRET: required('USER_TOKEN_SECRET'),
            SUPPLIER_WEBHOOK_SECRET: required('SUPPLIER_WEBHOOK_SECRET'),
          }
        : {}),
      ...Object.fromEntries(Object.keys(s.secrets).map((name) => [name, required(name)])),
      ...s.env,
    },
    // The only port published beyond this machine; its metrics port only on the loopback.
    ...(s.public ? { ports: [`${variable('GATEWAY_PORT:-8080')}:8080`, '127.0.0.1:9464:9464'] } : {}),
    depends_on: dependsOn,
    healthcheck: readyCheck(8080),
    // SIGTERM: the service drains and exits within 10 s.
    stop_grace_period: '15s',
    restart: 'unless-stopped',
  };
}

export function composeFile(services: Deployable[], simulator: boolean) {
  const domain = services.filter((s) => !s.public);
  return {
    name: 'allot',
    services: {
      // Not published: only the services reach NATS (as their users) and MongoDB, on compose's network.
      nats: {
        image: 'nats:2.11.9-alpine',
        command: ['-c', '/etc/nats/nats.conf'],
        environment: Object.fromEntries(services.map((s) => [natsPasswordVariable(s.name), required(natsPasswordVariable(s.name))])),
        volumes: ['nats-data:/data', './deploy/compose/nats.conf:/etc/nats/nats.conf:ro'],
        healthcheck: {
          test: ['CMD', 'wget', '-qO-', 'http://127.0.0.1:8222/healthz?js-enabled-only=true'],
          interval: '5s',
          timeout: '3s',
          retries: 20,
        },
      },
      mongo: {
        image: 'mongo:8.0',
        entrypoint: ['bash', '-c', mongoStart],
        environment: { MONGO_INITDB_ROOT_USERNAME: 'root', MONGO_INITDB_ROOT_PASSWORD: required('MONGO_ROOT_PASSWORD') },
        volumes: ['mongo-data:/data/db'],
        healthcheck: {
          test: ['CMD', 'mongosh', '--quiet', '--eval', "db.adminCommand('ping').ok"],
          interval: '5s',
          timeout: '5s',
          retries: 30,
        },
      },
      // Makes the single member a replica set (once; a no-op on later starts), waits for it to lead,
      // and gives each service its own user with readWrite on its own database only.
      'mongo-init': {
        image: 'mongo:8.0',
        depends_on: { mongo: { condition: 'service_healthy' } },
        environment: {
          MONGO_ROOT_PASSWORD: required('MONGO_ROOT_PASSWORD'),
          ...Object.fromEntries(services.map((s) => [mongoPassword(s.name), required(mongoPassword(s.name))])),
        },
        command: [
          'mongosh',
          `mongodb://root:${variable('MONGO_ROOT_PASSWORD')}@mongo:27017/admin?directConnection=true`,
          '--quiet',
          '--eval',
          mongoInit,
        ],
        restart: 'no',
      },
      // Its UI on this machine's loopback only (traces show tenants' requests).
      jaeger: {
        image: 'jaegertracing/jaeger:2.11.0',
        ports: ['127.0.0.1:16686:16686'],
      },
      ...(simulator
        ? {
            'supplier-sim': {
              build: { context: '.', args: { SERVICE: 'supplier-sim' } },
              image: 'allot/supplier-sim:dev',
              read_only: true,
              // Sends the signed supplier callbacks to the gateway (POST /_callbacks).
              environment: {
                PORT: '8090',
                GATEWAY_URL: 'http://gateway:8080',
                SUPPLIER_WEBHOOK_SECRET: required('SUPPLIER_WEBHOOK_SECRET'),
              },
            },
          }
        : {}),
      ...Object.fromEntries(services.map((s) => [s.name, service(s, domain, simulator)])),
    },
    volumes: { 'nats-data': {}, 'mongo-data': {} },
  };
}
