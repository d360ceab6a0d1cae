import { describe, expect, it } from 'vitest';
import { readPlainGet, responseHead } from '../src/http/plain-http';

const head = (...lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
const browser = [
  'GET /v1/stream?channels=availability HTTP/1.1',
  'Host: api.example',
  'Accept: text/event-stream',
  'Cache-Control: no-cache',
  'Authorization:   Bearer ak_123  ',
  'Last-Event-ID: 1-2',
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64)',
];

describe('plain HTTP', () => {
  it("plain http - a browser's EventSource request is read: its target, and its fields by lower-case name without surrounding blanks", () => {
    expect(readPlainGet(head(...browser))).toEqual({
      target: '/v1/stream?channels=availability',
      headers: {
        host: 'api.example',
        accept: 'text/event-stream',
        'cache-control': 'no-cache',
        authorization: 'Bearer ak_123',
        'last-event-id': '1-2',
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)',
      },
    });
  });

  it('plain http - anything a parser could read otherwise, or that is more than a GET head, is not read (Node gets it)', () => {
    const [line, host, ...rest] = browser as [string, string, ...string[]];
    const notPlain: [string, Buffer][] = [
      ['HTTP/1.0', head(line.replace('HTTP/1.1', 'HTTP/1.0'), host)],
      ['another method', head(line.replace('GET', 'POST'), host)],
      ['an absolute-form target', head('GET http://api.example/v1/stream HTTP/1.1', host)],
      ['a fragment', head('GET /v1/stream?channels=a#b HTTP/1.1', host)],
      ['two spaces in the request line', head('GET  /v1/stream HTTP/1.1', host)],
      ['no Host', head(line, ...rest)],
      ['a field given twice', head(line, host, 'Authorization: Bearer a', 'authorization: Bearer b')],
      ['Host given twice', head(line, host, host)],
      ['a folded line', head(line, host, 'Authorization: Bearer', ' ak_123')],
      ['a blank before the colon', head(line, host, 'Authorization : Bearer ak_123')],
      ['a bare LF', head(line, `${host}\nX-Evil: 1`)],
      ['a bare CR', head(line, `${host}\rX-Evil: 1`)],
      [
        'a byte outside ASCII',
        Buffer.concat([head(line, host).subarray(0, -4), Buffer.from([0x0d, 0x0a, 0x58, 0x3a, 0xff, 0x0d, 0x0a, 0x0d, 0x0a])]),
      ],
      ['a NUL', head(line, host, 'X: a\0b')],
      ['Content-Length', head(line, host, 'Content-Length: 0')],
      ['Transfer-Encoding', head(line, host, 'Transfer-Encoding: chunked')],
      ['Upgrade', head(line, host, 'Upgrade: websocket', 'Connection: Upgrade')],
      ['Expect', head(line, host, 'Expect: 100-continue')],
      ['a second request after it', Buffer.concat([head(line, host), head(line, host)])],
      ['bytes after it', Buffer.concat([head(line, host), Buffer.from('x')])],
      ['half a head', head(line, host).subarray(0, -2)],
      ['a head over 16 KiB', head(line, host, `X-Pad: ${'a'.repeat(16 * 1024)}`)],
    ];
    for (const [what, bytes] of notPlain) expect(readPlainGet(bytes), what).toBeUndefined();
  });

  it('plain http - a response head has the status line, Date and the fields given, and ends with a blank line', () => {
    const text = responseHead(429, { 'content-type': 'application/problem+json', 'retry-after': '1' });
    expect(text).toMatch(/^HTTP\/1\.1 429 Too Many Requests\r\ndate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n/);
    expect(text.endsWith('\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\n\r\n')).toBe(true);
  });
});
