/**
 * deploy/k8s/base/services.yaml — per service a Deployment (connecting as its own NATS and
 * MongoDB user), Service, ConfigMap, HorizontalPodAutoscaler and PodDisruptionBudget — and
 * MongoDB's init Job. Secrets are referenced, never written (docs/deploy.md).
 */
import { mongoUsersScript, passwordPrefix, serviceMongoUrl } from './mongo-users';
import type { Deployable } from './services';

const mongoHosts = 'mongo-0.mongo,mongo-1.mongo,mongo-2.mongo';

/**
 * Where the ingress controller's requests come from, whose `X-Forwarded-For` the gateway
 * believes: a common pod range. An overlay sets its own cluster's (docs/deploy.md), since
 * behind an ingress every client would otherwise share the controller's address.
 */
export const ingressRange = '10.0.0.0/8';

const labels = (name: string) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'allot' });

function deployment(s: Deployable) {
  const ports = [{ name: 'http', containerPort: 8080 }, ...(s.public ? [{ name: 'ops', containerPort: 9464 }] : [])];
  const secretEnv = (name: string, secret: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: s.name, labels: labels(s.name) },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels(s.name) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: labels(s.name),
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': s.public ? '9464' : '8080' },
        },
        spec: {
          // SIGTERM drains within 10 s (README.md, How services are built); the 5 s preStop lets endpoints forget the pod first.
          terminationGracePeriodSeconds: 30,
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: labels(s.name) },
            },
          ],
          containers: [
            {
              name: s.name,
              image: `allot/${s.name}:latest`,
              ports,
              envFrom: [{ configMapRef: { name: s.name } }],
              env: [
                { name: 'NATS_URL', value: 'nats://nats:4222' },
                { name: 'NATS_USER', value: s.name },
                secretEnv('NATS_PASSWORD', 'allot-nats-users', s.name),
                // Its own MongoDB user (mongo-init gives it readWrite on its own database only).
                secretEnv('MONGO_PASSWORD', 'allot-mongo-users', s.name),
                { name: 'MONGO_URL', value: serviceMongoUrl(s.name, '$(MONGO_PASSWORD)', mongoHosts) },
                ...(s.public
                  ? [
                      secretEnv('ROOT_API_KEY', 'allot-gateway', 'root-api-key'),
                      secretEnv('USER_TOKEN_SECRET', 'allot-gateway', 'user-token-secret'),
                      secretEnv('SUPPLIER_WEBHOOK_SECRET', 'allot-gateway', 'supplier-webhook-secret'),
                    ]
                  : []),
                ...Object.entries(s.secrets).map(([name, key]) => secretEnv(name, `allot-${s.name}`, key)),
              ],
              startupProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 2, failureThreshold: 60 },
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5, failureThreshold: 2 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, failureThreshold: 3 },
              lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
              resources: { requests: { cpu: '100m', memory: '192Mi' }, limits: { memory: '512Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  };
}

function resources(s: Deployable) {
  const port = (name: string, n: number) => ({ name, port: n, targetPort: name });
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: s.name, labels: labels(s.name) },
      data: {
        PORT: '8080',
        LOG_LEVEL: 'info',
        NATS_STREAM_REPLICAS: '3',
        OTEL_SERVICE_NAME: s.name,
        ...s.env,
        ...(s.public ? { TRUSTED_PROXIES: ingressRange } : {}),
      },
    },
    deployment(s),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: s.name, labels: labels(s.name) },
      spec: { selector: labels(s.name), ports: [port('http', s.public ? 80 : 8080), ...(s.public ? [port('ops', 9464)] : [])] },
    },
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: s.name, labels: labels(s.name) },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.name },
        minReplicas: 2,
        maxReplicas: 6,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: s.name, labels: labels(s.name) },
      spec: { maxUnavailable: 1, selector: { matchLabels: labels(s.name) } },
    },
  ];
}

export const serviceManifests = (services: Deployable[]) => services.flatMap(resources);

/**
 * Makes the three MongoDB members a replica set (a no-op once they are one), sets majority writes
 * as the cluster default, and gives each service its own user with readWrite on its own database
 * only (passwords from Secret allot-mongo-users, one key per service; run again to rotate).
 */
export function mongoInitJob() {
  const script = [
    "try { rs.status(); } catch (e) { rs.initiate({ _id: 'rs0', members: [",
    "{ _id: 0, host: 'mongo-0.mongo:27017' }, { _id: 1, host: 'mongo-1.mongo:27017' },",
    "{ _id: 2, host: 'mongo-2.mongo:27017' } ] }); }",
    'while (!db.hello().isWritablePrimary) sleep(1000);',
    "db.adminCommand({ setDefaultRWConcern: 1, defaultWriteConcern: { w: 'majority' } });",
    mongoUsersScript,
  ].join(' ');
  const rootEnv = (name: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: 'allot-mongo', key } } });
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'mongo-init', labels: labels('mongo-init') },
    spec: {
      backoffLimit: 20,
      template: {
        spec: {
          restartPolicy: 'OnFailure',
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 999, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'init',
              image: 'mongo:8.0',
              env: [rootEnv('USER', 'root-username'), rootEnv('PASSWORD', 'root-password')],
              envFrom: [{ prefix: passwordPrefix, secretRef: { name: 'allot-mongo-users' } }],
              command: [
                'mongosh',
                'mongodb://$(USER):$(PASSWORD)@mongo-0.mongo:27017/admin?directConnection=true',
                '--quiet',
                '--eval',
                script,
              ],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
}
