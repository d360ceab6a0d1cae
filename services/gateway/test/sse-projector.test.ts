import { EventPublisher, makeEvent, systemClock } from '@allot/kit';
import { testNats } from '@allot/kit/testing';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_STREAM, EVENT_HEADER } from '../src/sse/client-messages';
import { createTenant, eventually, openStream, startTestGateway, type TestGateway } from './harness';

describe('gateway SSE projector', () => {
  let gw: TestGateway;
  let conn: Awaited<ReturnType<typeof testNats>>;
  let availability: EventPublisher;

  beforeAll(async () => {
    gw = await startTestGateway();
    conn = await testNats();
    availability = new EventPublisher(conn.js, 'availability');
  });
  afterAll(async () => {
    await conn.close();
    await gw.stop();
  });

  const update = (tenantId: string, version: number) =>
    availability.publish(
      makeEvent(
        'availability',
        tenantId,
        'availability.updated',
        {
          sessionId: 'ses_p',
          date: '2030-04-01',
          maxSlots: 1000,
          bookedSlots: version,
          availableSlots: 1000 - version,
          isAvailable: true,
          version,
        },
        systemClock,
      ),
    );
  const url = (channels: string) => `${gw.base}/v1/stream?channels=${channels}`;
  const versionsOf = (events: { data: string }[]) => events.map((e) => JSON.parse(e.data).version as number);

  it('sse - a burst of events reaches the stream once each, in event order, and resumes from any id without gaps', async () => {
    const { key, tenantId } = await createTenant(gw);
    const auth = { authorization: `Bearer ${key}` };
    const live = openStream(url('availability.session.ses_p'), auth);
    await live.response;
    // Many events at once: the projector has many in flight, and must still store them in order.
    const count = 200;
    await Promise.all(Array.from({ length: count }, (_, i) => update(tenantId, i + 1)));
    await eventually(() => live.events.length >= count, 20_000);
    const expected = Array.from({ length: count }, (_, i) => i + 1);
    expect(versionsOf(live.events)).toEqual(expected);
    live.close();

    const from = live.events[count / 2 - 1]!.id!;
    const resumed = openStream(url('availability.session.ses_p'), { ...auth, 'last-event-id': from });
    await eventually(() => resumed.events.length >= count / 2, 20_000);
    await update(tenantId, count + 1);
    await eventually(() => resumed.events.length === count / 2 + 1);
    expect(versionsOf(resumed.events)).toEqual([...expected.slice(count / 2), count + 1]);
    resumed.close();
  });

  it('sse - the data line is the body the projector stored, sent as it is; a body that would break the frame is skipped', async () => {
    const { key, tenantId } = await createTenant(gw);
    const stream = openStream(url('availability'), { authorization: `Bearer ${key}` });
    await stream.response;
    await update(tenantId, 7);
    await eventually(() => stream.events.length === 1);
    const stored = await conn.jsm.direct.getMessage(CLIENT_STREAM, { last_by_subj: `client.${tenantId}.availability.ses_p.2030-04-01` });
    expect(stored?.header.get(EVENT_HEADER)).toBe('availability.updated');
    expect(stream.events[0]).toMatchObject({ event: 'availability.updated', data: stored?.string() });

    // Only the projector writes this stream, and it never stores a raw line break; were one there, it is not sent.
    const h = natsHeaders();
    h.set(EVENT_HEADER, 'availability.updated');
    await conn.js.publish(`client.${tenantId}.availability.ses_p.2030-04-01`, '{"version":\n8}', { headers: h });
    await update(tenantId, 9);
    await eventually(() => stream.events.length === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(versionsOf(stream.events)).toEqual([7, 9]);
    stream.close();
  });
});
