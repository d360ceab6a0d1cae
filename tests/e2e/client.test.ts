import { createAllotClient, type StreamEvent, type StreamStatus, streamEvents } from '@allot/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Stack, startStack, today } from './stack';

/**
 * The typed client (`@allot/client`) against the whole stack: typed calls and problems, and the
 * SSE helper resuming with `Last-Event-ID` after its connection is cut.
 */
describe('typed client', () => {
  let stack: Stack;
  let key: string;
  const date = today(2);

  beforeAll(async () => {
    stack = await startStack();
    ({ key } = await stack.newTenant());
  });
  afterAll(() => stack.stop());

  it('client - typed calls answer data, and problems as typed errors', async () => {
    const client = createAllotClient({ baseUrl: stack.base, credential: key });
    const session = await client.POST('/v1/sessions', { body: { name: 'Client tour', maxCapacity: 3 } });
    expect(session.response.status).toBe(201);
    const sessionId = session.data!.id;
    const booked = await client.POST('/v1/bookings', {
      body: { sessionId, date, adults: 2 },
      params: { header: { 'idempotency-key': `client-${sessionId}` } },
    });
    expect(booked.data).toMatchObject({ status: 'confirmed', slots: 2, sessionId, date });
    const check = await client.GET('/v1/capacity/check', { params: { query: { sessionId, date, slots: 2 } } });
    expect(check.data).toMatchObject({ status: 'queue_required', availableSlots: 1, canBook: false });
    const full = await client.POST('/v1/bookings', { body: { sessionId, date, adults: 2 } });
    expect(full.response.status).toBe(409);
    expect(full.error?.code).toBe('capacity_exhausted');
    const anonymous = createAllotClient({ baseUrl: stack.base, credential: 'allot_not_a_key' });
    expect((await anonymous.GET('/v1/sessions')).error?.code).toBe('unauthorized');
  });

  it('stream - a dropped connection resumes with Last-Event-ID: nothing missed, nothing twice', async () => {
    const client = createAllotClient({ baseUrl: stack.base, credential: key });
    const sessionId = (await client.POST('/v1/sessions', { body: { name: 'Stream tour', maxCapacity: 10 } })).data!.id;
    const cut = cuttableFetch();
    const events: StreamEvent[] = [];
    const statuses: StreamStatus[] = [];
    const stream = streamEvents({
      baseUrl: stack.base,
      credential: key,
      channels: ['bookings'],
      fetch: cut.fetch,
      onEvent: (event) => events.push(event),
      onStatus: (status) => statuses.push(status),
    });
    try {
      await eventually(async () => statuses.includes('open'));
      const first = (await client.POST('/v1/bookings', { body: { sessionId, date, adults: 1 } })).data!;
      await eventually(async () => events.some((e) => (e.data as { id: string }).id === first.id));
      const firstId = events.at(-1)!.id;

      cut.drop();
      const second = (await client.POST('/v1/bookings', { body: { sessionId, date, adults: 2 } })).data!;
      await eventually(async () => events.some((e) => (e.data as { id: string }).id === second.id), 10_000);

      expect(statuses).toContain('reconnecting');
      expect(cut.requests.length).toBe(2);
      expect(cut.requests[1]!.get('last-event-id')).toBe(firstId);
      expect(events.map((e) => [e.event, (e.data as { id: string }).id])).toEqual([
        ['booking.created', first.id],
        ['booking.created', second.id],
      ]);
      expect(stream.lastEventId).toBe(events.at(-1)!.id);
    } finally {
      stream.close();
    }
  });
});

/** A fetch whose current response body can be cut mid-stream, as a dropped connection would be. */
function cuttableFetch() {
  const requests: Headers[] = [];
  let drop = () => {};
  const cutFetch: typeof fetch = async (input, init) => {
    requests.push(new Headers(init?.headers));
    const response = await fetch(input, init);
    const reader = response.body!.getReader();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      async pull(c) {
        const { done, value } = await reader.read();
        if (done) c.close();
        else c.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    drop = () => {
      controller.error(new TypeError('terminated'));
      void reader.cancel();
    };
    return new Response(body, { status: response.status, headers: response.headers });
  };
  return { fetch: cutFetch, requests, drop: () => drop() };
}
