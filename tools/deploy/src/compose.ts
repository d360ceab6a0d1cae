/** docker-compose.yml: the whole platform on one machine, built from this repository's Dockerfile. */
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

const mongoInit = [
  "try { rs.status(); } catch (e) { rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'mongo:27017' }] }); }",
  'while (!db.hello().isWritablePrimary) sleep(500);',
  "db.adminCommand({ setDefaultRWConcern: 1, defaultWriteConcern: { w: 'majority' } });",
].join(' ');

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
      MONGO_URL: 'mongodb://mongo:27017/?replicaSet=rs0&w=majority',
      PORT: '8080',
      LOG_LEVEL: variable('LOG_LEVEL:-info'),
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
      OTEL_SERVICE_NAME: s.name,
      ...(s.public
        ? {
            ROOT_API_KEY: variable('ROOT_API_KEY:?set ROOT_API_KEY (the operator key)'),
            USER_TOKEN_SECRET: variable('USER_TOKEN_SECRET:?set USER_TOKEN_SECRET (32+ random characters)'),
          }
        : {}),
      ...s.env,
    },
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
      nats: {
        image: 'nats:2.11.9-alpine',
        command: ['--jetstream', '--store_dir=/data', '--http_port=8222'],
        ports: ['4222:4222', '127.0.0.1:8222:8222'],
        volumes: ['nats-data:/data'],
        healthcheck: {
          test: ['CMD', 'wget', '-qO-', 'http://127.0.0.1:8222/healthz?js-enabled-only=true'],
          interval: '5s',
          timeout: '3s',
          retries: 20,
        },
      },
      mongo: {
        image: 'mongo:8.0',
        command: ['--replSet', 'rs0', '--bind_ip_all'],
        volumes: ['mongo-data:/data/db'],
        healthcheck: {
          test: ['CMD', 'mongosh', '--quiet', '--eval', "db.adminCommand('ping').ok"],
          interval: '5s',
          timeout: '5s',
          retries: 30,
        },
      },
      // Makes the single member a replica set (once; a no-op on later starts) and waits for it to lead.
      'mongo-init': {
        image: 'mongo:8.0',
        depends_on: { mongo: { condition: 'service_healthy' } },
        command: ['mongosh', '--host', 'mongo', '--quiet', '--eval', mongoInit],
        restart: 'no',
      },
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
              environment: { PORT: '8090' },
              ports: ['127.0.0.1:8090:8090'],
            },
          }
        : {}),
      ...Object.fromEntries(services.map((s) => [s.name, service(s, domain, simulator)])),
    },
    volumes: { 'nats-data': {}, 'mongo-data': {} },
  };
}
