import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { connectNats } from '../src/nats';
import { testLogger, uniqueName } from '../src/testing';

/** The socket under a connection, to count its writes (the transport's own field). */
const socketOf = (nc: NatsConnection) =>
  (nc as unknown as { protocol: { transport: { socket: import('node:net').Socket } } }).protocol.transport.socket;

describe('NATS transport', () => {
  const open: NatsConnection[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((nc) => nc.close()));
  });

  it('nats transport - publishes from many callbacks of one loop turn go out in one write, all delivered in order', async () => {
    const publisher = await connectNats(inject('natsUrl'), 'gateway', testLogger());
    const reader = await connect({ servers: inject('natsUrl') });
    open.push(publisher, reader);
    const subject = uniqueName('coalesce');
    const received: string[] = [];
    const sub = reader.subscribe(subject, { max: 50, callback: (_err, msg) => void received.push(msg.string()) });
    await reader.flush();

    const socket = socketOf(publisher);
    const write = socket.write.bind(socket);
    let writes = 0;
    socket.write = ((...args: Parameters<typeof socket.write>) => {
      writes++;
      return write(...args);
    }) as typeof socket.write;
    // Fifty callbacks of one loop turn, as fifty HTTP requests read in one poll would be.
    await new Promise<void>((resolve) => {
      for (let i = 0; i < 50; i++) setImmediate(() => publisher.publish(subject, String(i)));
      setImmediate(resolve);
    });
    await publisher.flush();
    await sub.closed;

    expect(received).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    // The fifty publishes in one write, and the flush's PING in another.
    expect(writes).toBeLessThanOrEqual(2);
  });

  it('nats transport - what is published just before drain still reaches the server', async () => {
    const publisher = await connectNats(inject('natsUrl'), 'gateway', testLogger());
    const reader = await connect({ servers: inject('natsUrl') });
    open.push(reader);
    const subject = uniqueName('drain');
    const received: string[] = [];
    const sub = reader.subscribe(subject, { max: 3, callback: (_err, msg) => void received.push(msg.string()) });
    await reader.flush();
    for (const m of ['a', 'b', 'c']) publisher.publish(subject, m);
    await publisher.drain();
    await sub.closed;
    expect(received).toEqual(['a', 'b', 'c']);
  });
});
