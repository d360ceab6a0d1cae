import { createServer } from 'node:http';

export interface Hit {
  at: number;
  headers: Record<string, string>;
  body: string;
}

/** A local endpoint for these tests: answers each request with `answer(n)` (the nth to this path), records it. */
export async function receiver(
  answer: (path: string, n: number) => { status: number; headers?: Record<string, string>; delayMs?: number } | 'hang',
) {
  const hits = new Map<string, Hit[]>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const list = hits.get(path) ?? [];
      list.push({ at: Date.now(), headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString() });
      hits.set(path, list);
      const reply = answer(path, list.length);
      if (reply === 'hang') return;
      setTimeout(() => res.writeHead(reply.status, reply.headers).end('{"ok":true}'), reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    hits: (path: string) => hits.get(path) ?? [],
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
