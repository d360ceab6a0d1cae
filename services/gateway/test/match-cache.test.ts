import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { MatchCache } from '../src/http/match-cache';

describe('match cache', () => {
  const app = new Hono({ router: new MatchCache() });
  app.use('/v1/*', async (c, next) => {
    c.header('x-through', 'middleware');
    await next();
  });
  app.get('/v1/queue/status', (c) => c.text('status'));
  app.get('/v1/queue/:id', (c) => c.text(`entry ${c.req.param('id')}`));
  app.post('/v1/queue/:id', (c) => c.text(`posted ${c.req.param('id')}`));

  const text = async (method: string, path: string) => {
    const res = await app.request(path, { method });
    return `${res.status} ${res.headers.get('x-through')} ${await res.text()}`;
  };

  it('match cache - a remembered match answers as the router did: static beside parameter, each path its own parameters, per method', async () => {
    for (let round = 0; round < 2; round++) {
      expect(await text('GET', '/v1/queue/status')).toBe('200 middleware status');
      expect(await text('GET', '/v1/queue/q_1')).toBe('200 middleware entry q_1');
      expect(await text('GET', '/v1/queue/q_2')).toBe('200 middleware entry q_2');
      expect(await text('POST', '/v1/queue/q_1')).toBe('200 middleware posted q_1');
      expect(await text('DELETE', '/v1/queue/q_1')).toBe('404 middleware 404 Not Found');
    }
  });

  it('match cache - many distinct paths keep it bounded and answering', async () => {
    const cache = new MatchCache<string>();
    cache.add('GET', '/things/:id', 'thing');
    for (let i = 0; i < 10_000; i++) cache.match('GET', `/things/${i}`);
    expect(cache.size).toBeLessThanOrEqual(4096);
    expect(cache.match('GET', '/things/last')[0][0]?.[0]).toBe('thing');
  });
});
