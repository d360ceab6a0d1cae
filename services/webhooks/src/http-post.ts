import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { addressProblem, ipLiteral, type UrlRules, urlProblem } from './domain/url-safety';

/** What one POST came to: the status (null without an answer), the first bytes of the body, or what went wrong. */
export interface PostResult {
  statusCode: number | null;
  retryAfter: string | undefined;
  /** At most `EXCERPT_BYTES` of the answer's body, as text. */
  response: string | null;
  error: string | null;
  durationMs: number;
}

/** The most of an answer's body read (the rest is not waited for) and the most kept of it. */
export const READ_BYTES = 4096;
export const EXCERPT_BYTES = 256;
/**
 * Resends of one attempt after a kept-alive connection turned out closed: each stale connection
 * found is dropped, and a receiver that closed several idle ones at once may leave a few.
 */
const MAX_STALE_RESENDS = 3;

/** A URL refused by the safety rules: at creation a 400 `invalid_webhook_url`, at delivery a failed attempt. */
export class UnsafeUrl extends Error {}

/**
 * Resolves a name and refuses it unless every address is allowed; the connection is then made to
 * the address checked here, never to one resolved again later, so a name that changes its answer
 * between the check and the connect (DNS rebinding) cannot reach a private address.
 */
function safeLookup(rules: UrlRules): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const problem = addressProblem(
        addresses.map((a) => a.address),
        rules,
      );
      if (problem) return callback(new UnsafeUrl(`${hostname} ${problem}`), '', 0);
      const first = addresses[0];
      if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

/** Checks a URL before it is stored: its form, and the addresses its name resolves to now. */
export async function checkUrl(text: string, rules: UrlRules): Promise<string | undefined> {
  const problem = urlProblem(text, rules);
  if (problem || rules.allowPrivate) return problem;
  const url = new URL(text);
  if (ipLiteral(url.hostname)) return undefined;
  return new Promise((resolve) =>
    safeLookup(rules)(url.hostname, { all: true }, (error) => {
      if (error instanceof UnsafeUrl) resolve('must not point to a private, loopback or link-local address');
      else if (error) resolve(`must name a host that resolves (${(error as NodeJS.ErrnoException).code ?? error.message})`);
      else resolve(undefined);
    }),
  );
}

/**
 * POSTs webhooks over kept-alive connections, checking every connection's address (see
 * `safeLookup`; an IP literal is checked before the request). Redirects are not followed (a 3xx
 * is a failed attempt); one attempt — connecting, sending, reading the answer — is bounded by
 * `timeoutMs`, and no more than `READ_BYTES` of the answer are read.
 */
export class WebhookPoster {
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(
    private readonly rules: UrlRules,
    private readonly timeoutMs: number,
  ) {
    const lookup = safeLookup(rules);
    this.agents = {
      http: new http.Agent({ keepAlive: true, lookup } as http.AgentOptions),
      https: new https.Agent({ keepAlive: true, lookup } as https.AgentOptions),
    };
  }

  post(target: string, headers: Record<string, string>, body: string, signal?: AbortSignal): Promise<PostResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const failed = (error: string): PostResult => ({
      statusCode: null,
      retryAfter: undefined,
      response: null,
      error,
      durationMs: elapsed(),
    });
    const problem = urlProblem(target, this.rules);
    if (problem) return Promise.resolve(failed(`URL refused: ${problem}`));
    const url = new URL(target);
    const literal = ipLiteral(url.hostname);
    const refused = literal ? addressProblem([literal], this.rules) : undefined;
    if (refused) return Promise.resolve(failed(`URL refused: ${refused}`));
    const secure = url.protocol === 'https:';
    return new Promise((resolve) => {
      let settled = false;
      let request: http.ClientRequest | undefined;
      const finish = (result: PostResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        resolve(result);
      };
      const timer = setTimeout(() => {
        finish(failed(`timed out after ${this.timeoutMs} ms`));
        request?.destroy();
      }, this.timeoutMs);
      const abort = () => {
        finish(failed('aborted: the service is stopping'));
        request?.destroy();
      };
      const send = (resends: number) => {
        const sent = (secure ? https : http).request(url, {
          method: 'POST',
          agent: secure ? this.agents.https : this.agents.http,
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            'user-agent': 'Allot-Webhooks/1',
          },
        });
        request = sent;
        sent.on('error', (error: NodeJS.ErrnoException) => {
          // A kept-alive connection the receiver closed as it was reused (its idle timeout ran out
          // then): no answer came, so the POST goes again, on another connection, as Node's
          // documentation of `reusedSocket` advises; otherwise the attempt would fail and wait for
          // the retry schedule. A receiver that did read it sees the same `webhook-id` twice.
          const stale = sent.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
          if (stale && resends < MAX_STALE_RESENDS && !settled) return send(resends + 1);
          finish(failed(error instanceof UnsafeUrl ? `URL refused: ${error.message}` : (error.code ?? error.message)));
        });
        sent.on('response', (response) => this.read(response, finish, elapsed));
        sent.end(body);
      };
      if (signal?.aborted) return abort();
      signal?.addEventListener('abort', abort, { once: true });
      send(0);
    });
  }

  /** Reads an answer up to `READ_BYTES` and makes the attempt's result of it. */
  private read(response: http.IncomingMessage, finish: (result: PostResult) => void, elapsed: () => number): void {
    const chunks: Buffer[] = [];
    let read = 0;
    const done = () => {
      const text = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8');
      const statusCode = response.statusCode ?? null;
      const redirect = statusCode !== null && statusCode >= 300 && statusCode < 400;
      const retryAfter = response.headers['retry-after'];
      finish({
        statusCode,
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        response: text.length ? text : null,
        error: redirect
          ? 'redirect (not followed)'
          : statusCode !== null && (statusCode < 200 || statusCode >= 300)
            ? `HTTP ${statusCode}`
            : null,
        durationMs: elapsed(),
      });
    };
    response.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      read += chunk.length;
      if (read >= READ_BYTES) {
        // Enough: the rest is neither waited for nor kept (the connection is closed).
        done();
        response.destroy();
      }
    });
    response.on('end', done);
    response.on('error', () => done());
    response.on('aborted', () => done());
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
