import { type LocalServer, startNats } from '@allot/local-servers';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../src/logger';
import { ensureStream } from '../src/streams';
import { uniqueName } from '../src/testing';

/** Collects what a setup step warns about (the retries it made). */
const recording = () => {
  const warnings: { step: string; attempt: number }[] = [];
  const log = { warn: (fields: { step: string; attempt: number }) => warnings.push(fields) } as unknown as Logger;
  return { warnings, log };
};

describe('stream setup while JetStream cannot answer', () => {
  let server: LocalServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    server = await startNats();
    nc = await connect({ servers: server.url });
    // A short request timeout, so a paused server makes requests time out quickly.
    jsm = await jetstreamManager(nc, { timeout: 500 });
  }, 60_000);
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('a stream asked for while the server is paused is created once it answers again', async () => {
    const name = uniqueName('SETUP');
    const { warnings, log } = recording();
    server.signal('SIGSTOP');
    const ensured = ensureStream(jsm, { name, subjects: [`${name.toLowerCase()}.>`] }, 1, log);
    // Resumed only after the first attempt timed out and was retried.
    const resumed = (async () => {
      while (warnings.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      server.signal('SIGCONT');
    })();
    await ensured;
    await resumed;
    expect(warnings[0]?.step).toBe(`stream ${name}`);
    expect((await jsm.streams.info(name)).config.name).toBe(name);
  }, 60_000);

  it('a setup that fails for good (a configuration the server refuses) fails at once, not after retries', async () => {
    const first = uniqueName('SETUP');
    const subject = `${first.toLowerCase()}.>`;
    await ensureStream(jsm, { name: first, subjects: [subject] });
    const { warnings, log } = recording();
    // Another stream on the same subjects: the server refuses it (a 4xx), which no retry can change.
    await expect(ensureStream(jsm, { name: uniqueName('SETUP'), subjects: [subject] }, 1, log)).rejects.toThrow();
    expect(warnings).toEqual([]);
  }, 60_000);
});
