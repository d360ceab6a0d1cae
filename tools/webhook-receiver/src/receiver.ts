import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** One webhook as the receiver got it. */
export interface Received {
  /** When it arrived (ms since the epoch). */
  at: number;
  path: string;
  scenario: string;
  /** Its `webhook-id`, `webhook-timestamp` and `webhook-signature` headers. */
  headers: Record<string, string>;
  body: string;
  /** What it answered (null: it never did — `hang`). */
  status: number | null;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  /** What arrived, oldest first (under a path if given). */
  received(path?: string): Received[];
  clear(): void;
  close(): Promise<void>;
}

const MAX_KEPT = 10_000;

/**
 * A receiving endpoint for outbound webhooks, for `make dev` and the tests: `POST /hooks/<scenario>`
 * answers as the scenario says (README.md), and every request is recorded.
 */
export async function startWebhookReceiver(port = 0, options: { log?: (line: string) => void } = {}): Promise<WebhookReceiver> {
  const kept: Received[] = [];
  const sockets = new Set<Socket>();
  /** Requests seen per `webhook-id` and path, for `?times=`. */
  const seen = new Map<string, number>();

  const answer = (req: IncomingMessage, res: ServerResponse, url: URL, body: string) => {
    const scenario = url.pathname.split('/')[2] ?? 'accept';
    const headers = Object.fromEntries(
      ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(req.headers[h] ?? '')]),
    );
    const key = `${url.pathname}|${headers['webhook-id']}`;
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    // `?times=N`: the scenario answers the first N requests of each message, and later ones are accepted.
    const times = Number(url.searchParams.get('times') ?? Number.POSITIVE_INFINITY);
    const after = url.searchParams.get('after') ?? '1';
    let status: number | null;
    const extra: Record<string, string> = {};
    if (count > times) status = 200;
    else if (scenario === 'accept') status = 200;
    else if (scenario === 'fail') status = 500;
    else if (scenario === 'gone') status = 410;
    else if (scenario === 'throttle' || scenario === 'unavailable') {
      status = scenario === 'throttle' ? 429 : 503;
      extra['retry-after'] = after;
    } else if (scenario === 'redirect') {
      status = 302;
      extra.location = '/hooks/accept';
    } else if (scenario === 'hang') status = null;
    else status = 404;
    const record = { at: Date.now(), path: url.pathname, scenario, headers, body, status };
    kept.push(record);
    if (kept.length > MAX_KEPT) kept.shift();
    options.log?.(`${req.method} ${url.pathname}${url.search} ${headers['webhook-id']} → ${status ?? 'no answer'}`);
    if (status === null) return; // hang: the request stays open until the sender gives up
    res.writeHead(status, { 'content-type': 'application/json', ...extra });
    res.end(JSON.stringify({ received: headers['webhook-id'], scenario }));
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    if (req.method === 'GET' && url.pathname === '/_received') {
      const path = url.searchParams.get('path') ?? undefined;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items: kept.filter((r) => !path || r.path === path).slice(-200) }));
      return;
    }
    if (req.method === 'DELETE' && url.pathname === '/_received') {
      kept.length = 0;
      seen.clear();
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'POST' || !url.pathname.startsWith('/hooks/')) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req, res, url, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    received: (path) => kept.filter((r) => !path || r.path === path),
    clear: () => {
      kept.length = 0;
      seen.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
