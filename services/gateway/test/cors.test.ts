import { Hono } from 'hono';
import { cors as honoCors } from 'hono/cors';
import { describe, expect, it } from 'vitest';
import { cors } from '../src/http/cors';

const exposeHeaders = ['X-Request-Id', 'traceparent'];

/** The same app with our CORS middleware and with Hono's, for comparing their answers. */
function apps(origin: string | string[]) {
  const build = (middleware: ReturnType<typeof cors>) =>
    new Hono()
      .use(middleware)
      .get('/thing', (c) => c.json({ ok: true }))
      .post('/thing', (c) => c.json({ ok: true }, 201))
      .get('/raw', () => new Response('raw'));
  return [build(cors({ origin, exposeHeaders })), build(honoCors({ origin, exposeHeaders }) as ReturnType<typeof cors>)] as const;
}

const headersOf = (res: Response) => Object.fromEntries([...res.headers].filter(([k]) => k !== 'content-length'));

describe('CORS', () => {
  const cases: [string, RequestInit][] = [
    ['/thing', {}],
    ['/thing', { headers: { origin: 'https://app.example' } }],
    ['/thing', { headers: { origin: 'https://evil.example' } }],
    ['/thing', { method: 'POST', headers: { origin: 'https://app.example' }, body: '{}' }],
    ['/missing', { headers: { origin: 'https://app.example' } }],
    [
      '/thing',
      {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      },
    ],
  ];
  for (const origin of ['*', ['https://app.example', 'https://admin.example']]) {
    it(`cors - answers with the same headers as Hono's cors() for origin ${JSON.stringify(origin)}`, async () => {
      const [ours, hono] = apps(origin);
      for (const [path, init] of cases) {
        const a = await ours.request(path, init);
        const b = await hono.request(path, init);
        expect(a.status, `${init.method ?? 'GET'} ${path}`).toBe(b.status);
        expect(headersOf(a), `${init.method ?? 'GET'} ${path} ${JSON.stringify(init.headers)}`).toEqual(headersOf(b));
      }
    });
  }
});
