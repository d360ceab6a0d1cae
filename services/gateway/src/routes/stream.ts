import { AppError } from '@allot/contracts';
import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { GatewayDeps } from '../deps';
import { credentialOf, requireCredential } from '../http/auth';
import { bearer, problems, router } from '../http/openapi';
import { resolveChannels } from '../sse/channels';

const StreamQuery = z.object({
  channels: z
    .string()
    .openapi({ description: 'availability, availability.<date>, availability.session.<id>, bookings, orders, alerts, user' }),
  lastEventId: z.string().optional().openapi({ description: 'Resume after this id (or the Last-Event-ID header)' }),
  access_token: z.string().optional().openapi({ description: 'The credential, for clients that cannot set headers' }),
});

const stream = createRoute({
  method: 'get',
  path: '/stream',
  summary: 'Server-sent events of the given channels; resumable for an hour with Last-Event-ID',
  security: bearer,
  middleware: [requireCredential('apiKey', 'user')],
  request: { query: StreamQuery },
  responses: {
    200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } },
    ...problems(400, 401, 403),
  },
});

function parseLastEventId(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,15}$/.test(value)) {
    throw new AppError('validation_failed', 'Invalid Last-Event-ID', {
      errors: [{ path: 'Last-Event-ID', message: 'must be an id this stream sent' }],
    });
  }
  return Number(value);
}

export function streamRoutes(deps: GatewayDeps) {
  return router().openapi(stream, async (c) => {
    const credential = credentialOf(c, 'apiKey', 'user');
    const query = c.req.valid('query');
    const channels = resolveChannels(query.channels, credential);
    const lastEventId = parseLastEventId(c.req.header('last-event-id') ?? query.lastEventId);

    return streamSSE(c, async (sse) => {
      let closed = false;
      let unlisten: (() => void) | undefined;
      let heartbeat: NodeJS.Timeout | undefined;
      let finish: () => void = () => {};
      const finished = new Promise<void>((resolve) => {
        finish = resolve;
      });
      // Called on abort, on a failed write and at shutdown; whichever comes first wins.
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        unlisten?.();
        finish();
      };
      sse.onAbort(close);
      c.req.raw.signal.addEventListener('abort', close, { once: true });

      await sse.write('retry: 3000\n\n');
      heartbeat = setInterval(() => sse.write(': heartbeat\n\n').catch(close), deps.config.SSE_HEARTBEAT_MS);
      unlisten = await deps.fanout.listen(
        {
          tenantId: credential.tenantId,
          matches: (tokens) => channels.some((channel) => channel.matches(tokens, credential)),
          send: (id, event, data) => void sse.writeSSE({ id: String(id), event, data: JSON.stringify(data) }).catch(close),
          close,
        },
        lastEventId,
      );
      if (closed) unlisten();
      await finished;
    });
  });
}
