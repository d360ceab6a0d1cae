/**
 * deploy/k8s/base/services.yaml and the NATS server configuration: per service a Deployment,
 * Service, ConfigMap, HorizontalPodAutoscaler and PodDisruptionBudget, and per service a NATS
 * user allowed only its own subjects. Secrets are referenced, never written (docs/deploy.md).
 */
import type { Deployable } from './services';

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
          // SIGTERM drains within 10 s (SPEC §10); the 5 s preStop lets endpoints forget the pod first.
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
                secretEnv('MONGO_URL', 'allot-mongo', 'url'),
                ...(s.public
                  ? [
                      secretEnv('ROOT_API_KEY', 'allot-gateway', 'root-api-key'),
                      secretEnv('USER_TOKEN_SECRET', 'allot-gateway', 'user-token-secret'),
                    ]
                  : []),
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
 * Per service a NATS user that may publish and subscribe only its own subjects: its RPCs,
 * its events, jobs and dead letters, the RPCs it calls, and the JetStream API its kit uses.
 * (The JetStream API is one subject tree for every stream; it is allowed whole.)
 */
export function natsUsers(services: Deployable[]): string {
  const user = (s: Deployable) => {
    const publish = [
      `evt.${s.name}.>`,
      `job.${s.name}.>`,
      `dlq.${s.name}.>`,
      ...s.calls.map((callee) => `rpc.${callee}.>`),
      ...(s.redelivers ? ['job.*.redeliver.>'] : []),
      ...(s.public ? ['client.>'] : []),
      '$JS.API.>',
      '$JS.ACK.>',
      '$JS.FC.>',
      '_INBOX.>',
    ];
    const subscribe = [`rpc.${s.name}.>`, `evt.${s.name}.>`, '_INBOX.>'];
    const list = (subjects: string[]) => subjects.map((x) => JSON.stringify(x)).join(', ');
    return [
      `    { user: ${s.name}, password: $NATS_PASSWORD_${s.name}`,
      `      permissions: { publish: { allow: [${list(publish)}] }, subscribe: { allow: [${list(subscribe)}] }, allow_responses: true } }`,
    ].join('\n');
  };
  return ['authorization {', '  users: [', ...services.map(user), '  ]', '}', ''].join('\n');
}
