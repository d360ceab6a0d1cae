import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { GatewayEnv } from './env';
import { nodeBindings, requestHeader } from './node';

/** The media types Hono's JSON validator reads (`application/json`, `application/*+json`). */
const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;
const decoder = new TextDecoder();

/**
 * Refuses a body larger than `maxSize` (through `onError`). A JSON body is read here, straight
 * from the Node request, and handed to Hono's body cache as text, so `c.req.json()` (the
 * validators) and `c.req.text()` (a signed callback's exact bytes) find it there: Hono's own
 * `bodyLimit` would have @hono/node-server build a Web `Request` with a stream, an abort signal
 * and a copy of every header for each such request. Any other body (and any request without
 * the Node objects, as in `app.request()`) gets Hono's `bodyLimit`, read only if the route
 * reads it. GET and HEAD have no body.
 */
export function limitBody(maxSize: number, onError: (c: Context) => Response): MiddlewareHandler<GatewayEnv> {
  const limited = bodyLimit({ maxSize, onError });
  return async function limitBodyMiddleware(c, next) {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    const node = nodeBindings(c);
    const type = node && requestHeader(c, 'content-type');
    if (!node || !type || !JSON_TYPE.test(type.split(';')[0]?.trim() ?? '')) return limited(c, next);
    const { headers } = node.incoming;
    // As Hono's: a declared length over the limit is refused unread.
    if (headers['content-length'] !== undefined && headers['transfer-encoding'] === undefined) {
      if (Number.parseInt(headers['content-length'], 10) > maxSize) return onError(c);
    }
    const text = await readText(node.incoming, maxSize);
    if (text === undefined) return onError(c);
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
    return next();
  };
}

/** The request's body as UTF-8 text (a BOM dropped, as `Request#text()` does), or undefined past `maxSize` bytes (the rest is left unread). */
function readText(incoming: IncomingMessage, maxSize: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      incoming.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxSize) return void chunks.push(chunk);
      stop();
      incoming.pause();
      resolve(undefined);
    };
    const onEnd = () => {
      stop();
      resolve(decoder.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    };
    const onFail = (error: Error) => {
      stop();
      reject(error);
    };
    const onClose = () => onFail(new Error('the request closed before its body ended'));
    incoming.on('data', onData).on('end', onEnd).on('error', onFail).on('close', onClose);
  });
}
