import type { MsgHdrs } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  type Context,
  context,
  isSpanContextValid,
  propagation,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { RandomIdGenerator } from '@opentelemetry/sdk-trace-base';
import { tracesRecorded } from './telemetry';

export const tracer = trace.getTracer('allot');

const setter = { set: (carrier: MsgHdrs, key: string, value: string) => carrier.set(key, value) };
const getter = {
  get: (carrier: MsgHdrs | undefined, key: string) => carrier?.get(key) || undefined,
  keys: (carrier: MsgHdrs | undefined) => (carrier ? carrier.keys() : []),
};

/** NATS headers carrying the active trace context (W3C `traceparent`). */
export function headersWithTrace(ctx: Context = context.active()): MsgHdrs {
  const h = natsHeaders();
  propagation.inject(ctx, h, setter);
  return h;
}

/** The trace context a message's headers carry (or the active one if they carry none). */
export function contextFrom(h: MsgHdrs | undefined): Context {
  return propagation.extract(context.active(), h, getter);
}

/** The W3C `traceparent` of the active span, for storing beside an event to publish later. */
export function currentTraceparent(): string | null {
  return traceparentOf(context.active());
}

/**
 * The W3C `traceparent` of `ctx`'s span (null if it has none): a trace passed on in a message
 * body. Written out (`formatTraceparent`): the propagator checks both ids with a regular
 * expression on each call.
 */
export function traceparentOf(ctx: Context): string | null {
  const span = trace.getSpanContext(ctx);
  return span && isSpanContextValid(span) ? formatTraceparent(span) : null;
}

/** A span's W3C `traceparent` (version 00, the sampled flag). */
export function formatTraceparent(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-0${span.traceFlags & TraceFlags.SAMPLED}`;
}

/** A context whose parent is a stored `traceparent`. */
export function contextFromTraceparent(traceparent: string | null): Context {
  return traceparent ? propagation.extract(context.active(), { traceparent }) : context.active();
}

/**
 * Runs `fn` in a new active span, recording an exception and error status if it throws. In a
 * process that records no spans the span is only ids (`unrecordedSpan`): every event, RPC and
 * publish runs in one, and the SDK's span (sampler, attributes, its own metrics) cost a service
 * 1–5 % of its CPU in the webhooks benchmark (notifications the most), for nothing anyone reads.
 */
export function inSpan<T>(
  name: string,
  options: { kind: SpanKind; parent?: Context; attributes?: Record<string, string | number> },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  if (!tracesRecorded()) {
    const span = unrecordedSpan(parent);
    return context.with(trace.setSpan(parent, span), fn, undefined, span);
  }
  return tracer.startActiveSpan(name, { kind: options.kind, attributes: options.attributes }, parent, (span) => endingSpan(span, fn));
}

/**
 * Runs `fn` in a new span that is not made active: `fn` gets the span's context to pass on
 * itself (e.g. to `headersWithTrace`). For work that starts no spans of its own and logs
 * nothing, like a request to another service: making a context active costs every promise that
 * follows its share of Node 20's async hooks, and the gateway pays that on each HTTP request.
 * A process that records no spans makes none here: `fn` gets the parent's context, so the
 * trace still goes on, one span shorter.
 */
export function inDetachedSpan<T>(
  name: string,
  options: { kind: SpanKind; parent?: Context },
  fn: (spanContext: Context) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  if (!tracesRecorded()) return fn(parent);
  const span = tracer.startSpan(name, { kind: options.kind }, parent);
  return endingSpan(span, (s) => fn(trace.setSpan(parent, s)));
}

const ids = new RandomIdGenerator();

/**
 * The span of a request this process serves, under `parent` (a caller's `traceparent`, or none);
 * only ids (`unrecordedSpan`) in a process that records no spans.
 */
export function startServerSpan(name: string, parent: Context): Span {
  return tracesRecorded() ? tracer.startSpan(name, { kind: SpanKind.SERVER }, parent) : unrecordedSpan(parent);
}

/**
 * A span that records nothing, with the ids the SDK's would have: the parent's trace (or a new
 * one) and a new span id, with the parent's sampling flag. The SDK's span (sampler, attributes,
 * a processor) is skipped, like the work its `end` would do.
 */
function unrecordedSpan(parent: Context): Span {
  const caller = trace.getSpanContext(parent);
  return trace.wrapSpanContext({
    traceId: caller?.traceId ?? ids.generateTraceId(),
    spanId: ids.generateSpanId(),
    traceFlags: caller?.traceFlags ?? 0,
  });
}

/** Awaits `fn`, then ends the span, with the exception and error status recorded if it threw. */
async function endingSpan<T>(span: Span, fn: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await fn(span);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

export { SpanKind };
