import { type Meter, metrics } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, NoopSpanProcessor, ParentBasedSampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface Telemetry {
  /** This process's metrics as Prometheus text. */
  metricsText(): Promise<string>;
  shutdown(): Promise<void>;
}

let started: Telemetry | undefined;
let recording = false;

/** Whether this process records spans for someone (an OTLP exporter, a test's processors). */
export const tracesRecorded = () => recording;

/**
 * Starts OpenTelemetry once per process: W3C trace context, traces exported over OTLP when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_TRACES_EXPORTER`) is set, and metrics served as
 * Prometheus text by the service's own HTTP server. Tests pass `spanProcessors` to capture spans.
 * With neither, spans are not recorded unless a caller's sampled `traceparent` asks for it: a
 * span nobody exports would only cost every request its attributes, events and timestamps.
 * Trace and span ids are still made, so they flow through logs and headers as before.
 */
export function startTelemetry(serviceName: string, options: { spanProcessors?: SpanProcessor[] } = {}): Telemetry {
  if (started) return started;
  // Logs go to stdout through pino; without this the SDK would also try to export them over OTLP.
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  const exportTraces = Boolean(process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_TRACES_EXPORTER);
  recording = exportTraces || options.spanProcessors !== undefined;
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const serializer = new PrometheusSerializer();
  const sdk = new NodeSDK({
    serviceName,
    metricReaders: [prometheus],
    // `traceparent` only: nothing here uses baggage, and its propagator ran on every call and event.
    textMapPropagator: new W3CTraceContextPropagator(),
    spanProcessors: options.spanProcessors ?? (exportTraces ? undefined : [new NoopSpanProcessor()]),
    ...(exportTraces || options.spanProcessors ? {} : { sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) }),
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

/** Bucket bounds for durations in seconds, 1 ms to 10 s (the SDK's default bounds are for milliseconds). */
const SECOND_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A histogram of durations in seconds, with buckets that make its quantiles readable. */
export function secondsHistogram(meter: Meter, name: string, description: string) {
  return meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: SECOND_BUCKETS } });
}

/** The instruments the kit records. */
export const instruments = lazyInstruments((meter) => ({
  rpcDuration: secondsHistogram(meter, 'allot_rpc_handler_duration_seconds', 'RPC handler duration by operation and result'),
  eventDuration: secondsHistogram(meter, 'allot_event_handler_duration_seconds', 'Event and job handler duration by consumer and result'),
  retries: meter.createCounter('allot_handler_retries_total', { description: 'Messages nak-ed or rescheduled for a retry' }),
  deadLetters: meter.createCounter('allot_dead_letters_total', { description: 'Messages moved to the dead-letter stream' }),
}));
