import { propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { startTelemetry, tracesRecorded } from '../src/telemetry';
import { currentTraceparent, inSpan, startServerSpan } from '../src/trace';

// Telemetry as a service starts it without an exporter: no span is recorded.
startTelemetry('server-span-test');

describe('server span', () => {
  it("server span - where no span is recorded it is ids only: the caller's trace and sampling flag, a new span id", () => {
    expect(tracesRecorded()).toBe(false);
    const caller = propagation.extract(ROOT_CONTEXT, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    const continued = startServerSpan('GET /v1/things', caller).spanContext();
    expect(continued).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', traceFlags: 1 });
    expect(continued.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(continued.spanId).not.toBe('b7ad6b7169203331');

    const begun = startServerSpan('GET /v1/things', ROOT_CONTEXT);
    expect(begun.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(begun.spanContext().traceId).not.toBe(startServerSpan('GET /v1/things', ROOT_CONTEXT).spanContext().traceId);
    expect(begun.spanContext().traceFlags).toBe(0);
    expect(begun.isRecording()).toBe(false);
  });

  it("inSpan - where no span is recorded, the active span inside is ids only: the parent's trace and sampling flag, a new span id", async () => {
    const caller = propagation.extract(ROOT_CONTEXT, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    const seen = await inSpan('stock.low_detected process', { kind: SpanKind.CONSUMER, parent: caller }, async (span) => {
      await Promise.resolve(); // still active after an await
      return { span, active: trace.getActiveSpan(), traceparent: currentTraceparent() };
    });
    expect(seen.active).toBe(seen.span);
    expect(seen.span.isRecording()).toBe(false);
    const { traceId, spanId, traceFlags } = seen.span.spanContext();
    expect({ traceId, traceFlags }).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', traceFlags: 1 });
    expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(spanId).not.toBe('b7ad6b7169203331');
    expect(seen.traceparent).toBe(`00-0af7651916cd43dd8448eb211c80319c-${spanId}-01`);
  });
});
