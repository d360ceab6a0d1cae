import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkUrl, READ_BYTES, WebhookPoster } from '../src/http-post';

describe('the POST of one attempt', () => {
  let url: string;
  let received = 0;
  const server = createServer((req, res) => {
    received++;
    if (req.url === '/big') {
      res.writeHead(200);
      res.end('x'.repeat(1_000_000));
    } else if (req.url === '/redirect') res.writeHead(302, { location: '/ok' }).end();
    else if (req.url === '/hang') return;
    else res.writeHead(200).end('ok');
  });

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('private names are refused when the connection is made (DNS rebinding), not only when the URL is stored', async () => {
    const strict = new WebhookPoster({ allowPrivate: false }, 2000);
    const before = received;
    // A name, so only its resolution at connect time can tell: `localhost` resolves to the loopback.
    const port = new URL(url).port;
    const refused = await strict.post(`https://localhost:${port}/ok`, {}, '{}');
    expect(refused.statusCode).toBeNull();
    expect(refused.error).toMatch(/URL refused: localhost resolves to a private, loopback or link-local address/);
    expect(await checkUrl(`https://localhost:${port}/ok`, { allowPrivate: false })).toMatch(/private/);
    expect(received).toBe(before);
    strict.close();
  });

  it('redirects are not followed, answers are read only up to a limit, and a hanging endpoint times out', async () => {
    const poster = new WebhookPoster({ allowPrivate: true }, 500);
    const redirect = await poster.post(`${url}/redirect`, {}, '{}');
    expect(redirect).toMatchObject({ statusCode: 302, error: 'redirect (not followed)' });
    const big = await poster.post(`${url}/big`, {}, '{}');
    expect(big.statusCode).toBe(200);
    expect(big.response!.length).toBeLessThanOrEqual(256);
    expect(READ_BYTES).toBeLessThan(1_000_000);
    const hang = await poster.post(`${url}/hang`, {}, '{}');
    expect(hang).toMatchObject({ statusCode: null, error: 'timed out after 500 ms' });
    poster.close();
  });

  it('a kept-alive connection the receiver closed as it was reused is not a failed attempt: the POST goes again', async () => {
    // Each connection takes one request; the next one on it is cut off unanswered, as when a
    // receiver's idle timeout closes a connection just as it is reused.
    const connections: number[] = [];
    const oneShot = createServer((req, res) => {
      const socket = req.socket as typeof req.socket & { served?: boolean };
      if (socket.served) return socket.destroy();
      socket.served = true;
      connections.push(1);
      req.resume();
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => oneShot.listen(0, '127.0.0.1', r));
    const target = `http://127.0.0.1:${(oneShot.address() as { port: number }).port}/hook`;
    const poster = new WebhookPoster({ allowPrivate: true }, 2000);
    try {
      expect((await poster.post(target, {}, '{}')).statusCode).toBe(204);
      const again = await poster.post(target, {}, '{}'); // on the kept-alive connection first
      expect(again).toMatchObject({ statusCode: 204, error: null });
      expect(connections).toHaveLength(2);
    } finally {
      poster.close();
      oneShot.closeAllConnections();
      await new Promise((r) => oneShot.close(r));
    }
  });
});
