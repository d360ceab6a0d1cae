import { type Meter, metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface Telemetry {
  /** This process's metrics as Prometheus text. */
  metricsText(): Promise<string>;
  shutdown(): Promise<void>;
}

let started: Telemetry | undefined;

/**
 * Starts OpenTelemetry once per process: W3C trace context, traces exported over OTLP when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_TRACES_EXPORTER`) is set, otherwise recorded but not
 * exported (trace ids still flow through logs and headers), and metrics served as Prometheus
 * text by the service's own HTTP server. Tests pass `spanProcessors` to capture spans.
 */
export function startTelemetry(serviceName: string, options: { spanProcessors?: SpanProcessor[] } = {}): Telemetry {
  if (started) return started;
  // Logs go to stdout through pino; without this the SDK would also try to export them over OTLP.
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  const exportTraces = Boolean(process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_TRACES_EXPORTER);
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const serializer = new PrometheusSerializer();
  const sdk = new NodeSDK({
    serviceName,
    metricReaders: [prometheus],
    spanProcessors: options.spanProcessors ?? (exportTraces ? undefined : [new NoopSpanProcessor()]),
  });
  sdk.start();
  started = {
    async metricsText() {
      const { resourceMetrics } = await prometheus.collect();
      return serializer.serialize(resourceMetrics);
    },
    shutdown: () => sdk.shutdown(),
  };
  return started;
}

/**
 * A set of instruments created on first use. The metrics API has no proxy provider, so
 * instruments made before `startTelemetry` registers the SDK (e.g. at module load) would record
 * nothing; services declare theirs with this and call it where they record.
 */
export function lazyInstruments<T>(create: (meter: Meter) => T): () => T {
  let made: T | undefined;
  return () => {
    made ??= create(metrics.getMeter('allot'));
    return made;
  };
}

/** The instruments the kit records. */
export const instruments = lazyInstruments((meter) => ({
  rpcDuration: meter.createHistogram('allot_rpc_handler_duration_seconds', {
    description: 'RPC handler duration by operation and result',
    unit: 's',
  }),
  eventDuration: meter.createHistogram('allot_event_handler_duration_seconds', {
    description: 'Event and job handler duration by consumer and result',
    unit: 's',
  }),
  retries: meter.createCounter('allot_handler_retries_total', { description: 'Messages nak-ed or rescheduled for a retry' }),
  deadLetters: meter.createCounter('allot_dead_letters_total', { description: 'Messages moved to the dead-letter stream' }),
}));
