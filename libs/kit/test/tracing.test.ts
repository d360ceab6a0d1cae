import { rpc } from '@allot/contracts';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { systemClock } from '../src/clock';
import { consumeEvents } from '../src/event-consumer';
import { EventPublisher, makeEvent } from '../src/events';
import { connectMongo } from '../src/mongo';
import { RpcClient, RpcServer } from '../src/rpc';
import { ensureStream, eventStreamConfig } from '../src/streams';
import { startTelemetry } from '../src/telemetry';
import { eventually, testLogger, testNats, uniqueName } from '../src/testing';
import { inSpan, SpanKind } from '../src/trace';

// This file runs in its own worker, so telemetry starts here with an in-memory exporter.
const exporter = new InMemorySpanExporter();
startTelemetry('tracing-test', { spanProcessors: [new SimpleSpanProcessor(exporter)] });

const announce = rpc('publishes an event', z.object({ tenantId: z.string() }), z.object({ ok: z.boolean() }));

describe('tracing', () => {
  let conn: Awaited<ReturnType<typeof testNats>>;
  const tenantId = uniqueName('t');

  let mongo: Awaited<ReturnType<typeof connectMongo>>;

  beforeAll(async () => {
    conn = await testNats();
    mongo = await connectMongo(inject('mongoUrl'), uniqueName('trace').toLowerCase());
    await ensureStream(conn.jsm, eventStreamConfig('availability'));
  });
  afterAll(async () => {
    await conn.close();
    await mongo.client.close();
  });

  it('tracing - one trace id spans an RPC hop, the database call and the event hop it causes', async () => {
    const publisher = new EventPublisher(conn.js, 'availability');
    const server = new RpcServer(conn.nc, 'availability', testLogger()).add('trace-announce', announce, async (input) => {
      await mongo.db.collection('things').findOne({ _id: 'x' as never });
      await publisher.publish(
        makeEvent(
          'availability',
          input.tenantId,
          'availability.updated',
          { sessionId: 's_1', date: '2030-01-01', maxSlots: 5, bookedSlots: 1, availableSlots: 4, isAvailable: true, version: 1 },
          systemClock,
        ),
      );
      return { ok: true };
    });
    let consumedIn: string | undefined;
    const consumer = await consumeEvents(
      { js: conn.js, jsm: conn.jsm, log: testLogger(), service: 'tracing' },
      {
        stream: 'EVT_AVAILABILITY',
        durable: uniqueName('trace'),
        filterSubjects: [`evt.availability.${tenantId}.>`],
        handler: async () => {
          consumedIn = (await import('@opentelemetry/api')).trace.getActiveSpan()?.spanContext().traceId;
        },
      },
    );

    const traceId = await inSpan('client action', { kind: SpanKind.INTERNAL }, async (span) => {
      await new RpcClient(conn.nc).call(
        'availability',
        'trace-announce',
        announce,
        { tenantId },
        {
          tenantId,
          actor: { kind: 'root' },
        },
      );
      return span.spanContext().traceId;
    });
    await eventually(() => consumedIn);
    await consumer.stop();
    await server.stop();

    expect(consumedIn).toBe(traceId);
    const names = exporter
      .getFinishedSpans()
      .filter((s) => s.spanContext().traceId === traceId)
      .map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'rpc.availability.trace-announce request',
        'rpc.availability.trace-announce process',
        'mongodb.find things',
        `evt.availability.${tenantId}.availability.updated publish`,
        `evt.availability.${tenantId}.availability.updated process`,
      ]),
    );
  });
});
