import { STATUS_CODES } from 'node:http';

/** A request head read by `readPlainGet`: its target and its fields (names in lower case). */
export interface PlainGet {
  target: string;
  headers: Record<string, string>;
}

const END_OF_HEAD = Buffer.from('\r\n\r\n');
/** Node's default limit on a request head; a longer one is Node's to refuse. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Printable ASCII, space, tab and CRLF only: no byte whose reading could differ between parsers. */
const PLAIN_BYTES = /^[\t\r\n\x20-\x7e]*$/;
/** `GET`, an origin-form target without a fragment (`#`), HTTP/1.1. */
const REQUEST_LINE = /^GET (\/[!"$-~]*) HTTP\/1\.1$/;
const FIELD = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[\t ]*(.*?)[\t ]*$/;
/** Fields that make a request more than a plain `GET` (a body, an upgrade, an expectation). */
const NOT_PLAIN = new Set(['transfer-encoding', 'content-length', 'upgrade', 'expect']);

/**
 * A connection's first bytes as a plain HTTP/1.1 `GET`, or undefined for anything else. Plain: the
 * bytes are exactly one whole request head (nothing before or after it: no part of a body, no
 * pipelined request), in printable ASCII, with an origin-form target, a `Host`, no field given
 * twice, no line folding, no bare CR or LF, and no field that brings a body or changes the
 * protocol. A request that reads the same way under every HTTP parser, so taking it here cannot
 * be read differently by Node, a proxy in front, or the client; whatever is not plain is left to
 * Node's parser, which answers it as always.
 */
export function readPlainGet(bytes: Buffer): PlainGet | undefined {
  if (bytes.length > MAX_HEAD_BYTES || bytes.indexOf(END_OF_HEAD) !== bytes.length - END_OF_HEAD.length) return undefined;
  const text = bytes.toString('latin1', 0, bytes.length - END_OF_HEAD.length);
  if (!PLAIN_BYTES.test(text)) return undefined;
  const lines = text.split('\r\n');
  const target = REQUEST_LINE.exec(lines[0] as string)?.[1];
  if (target === undefined) return undefined;
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const field = FIELD.exec(lines[i] as string); // a bare CR or LF left in a line fails here
    if (!field) return undefined;
    const name = (field[1] as string).toLowerCase();
    if (headers[name] !== undefined || NOT_PLAIN.has(name)) return undefined;
    headers[name] = field[2] as string;
  }
  return headers.host === undefined ? undefined : { target, headers };
}

let dateSecond = -1;
let dateText = '';
/** The `Date` field's value, made once a second (as Node makes it). */
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/**
 * An HTTP/1.1 response head with `Date` and `fields`, as Node's response would write it. The
 * values are the gateway's own or echo a plain request's (no CR or LF can be in them).
 */
export function responseHead(status: number, fields: Readonly<Record<string, string>>): string {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ndate: ${httpDate()}\r\n`;
  for (const name in fields) head += `${name}: ${fields[name]}\r\n`;
  return `${head}\r\n`;
}
