import { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';

/**
 * The Node request and response behind a Hono context when the app is served by
 * `@hono/node-server` over HTTP/1, or undefined (e.g. `app.request()` in tests).
 */
export function nodeBindings(c: Context): { incoming: IncomingMessage; outgoing: ServerResponse } | undefined {
  const env = c.env as { incoming?: unknown; outgoing?: unknown } | undefined;
  const incoming = env?.incoming;
  const outgoing = env?.outgoing;
  return incoming instanceof IncomingMessage && outgoing instanceof ServerResponse ? { incoming, outgoing } : undefined;
}

/**
 * One request header (`name` in lower case) with the value `c.req.header(name)` would give, read
 * from the Node request when there is one: `c.req.header` makes @hono/node-server build a Web
 * `Headers` of every header first. Node joins repeated fields with ", " as `Headers` does, except
 * for the few it keeps only the first of (e.g. `authorization`), which are joined here from the
 * raw headers.
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  return incoming instanceof IncomingMessage ? incomingHeader(incoming, name) : c.req.header(name);
}

/** `requestHeader` of a Node request. */
export function incomingHeader(incoming: IncomingMessage, name: string): string | undefined {
  const value = incoming.headers[name];
  if (value === undefined || !FIRST_ONLY.has(name)) return Array.isArray(value) ? value.join(', ') : value;
  let joined: string | undefined;
  const raw = incoming.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length === name.length && key.toLowerCase() === name) joined = joined === undefined ? raw[i + 1] : `${joined}, ${raw[i + 1]}`;
  }
  return joined ?? (value as string);
}

/** Fields Node's parser keeps only the first occurrence of (`IncomingMessage#headers`). */
const FIRST_ONLY = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * Sets a response header before the response exists: on the Node response when there is one
 * (Node merges it into whatever is written, and a header the response itself sets wins, as
 * with `c.header`), else with `c.header`. Hono's `c.header` keeps them in a Web `Headers` that
 * every response would then be built with and @hono/node-server would turn back into Node's.
 */
export function setResponseHeader(c: Context, name: string, value: string, options?: { append: boolean }): void {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  if (!(outgoing instanceof ServerResponse)) {
    c.header(name, value, options);
    return;
  }
  const existing = options?.append ? outgoing.getHeader(name) : undefined;
  outgoing.setHeader(name, existing === undefined ? value : `${existing}, ${value}`);
}
