import { BlockList, isIP } from 'node:net';
import type { Context } from 'hono';
import { nodeBindings, requestHeader } from './node';

/** `::ffff:10.0.0.1` is the IPv4 address 10.0.0.1 on a dual-stack socket. */
const plain = (address: string) => (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address);
const family = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/**
 * Finds a request's client address. The peer is the client unless it is a trusted proxy; then
 * `X-Forwarded-For` is read from the right (the entries proxies appended) and the first address
 * that is not a trusted proxy is the client. Entries further left were written by the client
 * itself and could be anything, so they are never believed.
 */
export function clientAddressOf(trustedProxies: string[]): (c: Context) => string {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [address = '', prefix] = entry.split('/');
    if (prefix === undefined) trusted.addAddress(plain(address), family(address));
    else trusted.addSubnet(plain(address), Number(prefix), family(address));
  }
  const isTrusted = (address: string) => isIP(address) !== 0 && trusted.check(address, family(address));

  return (c) => {
    const peer = plain(nodeBindings(c)?.incoming.socket.remoteAddress ?? 'local');
    if (trustedProxies.length === 0 || !isTrusted(peer)) return peer;
    const forwarded = (requestHeader(c, 'x-forwarded-for') ?? '').split(',').map((s) => plain(s.trim()));
    for (let i = forwarded.length - 1; i >= 0; i--) {
      const hop = forwarded[i] as string;
      if (isIP(hop) === 0) return peer; // a malformed chain: the proxy is all we know
      if (!isTrusted(hop)) return hop;
    }
    return peer;
  };
}

/**
 * The key a per-address limit counts under: an IPv4 address as it is, an IPv6 address by its
 * /64 — one host usually holds a whole /64, so counting each address would hand it 2^64 allowances.
 */
export function addressGroup(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = (address.split('%')[0] ?? address).split('::') as [string, string?];
  const groups = (part: string | undefined) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const front = groups(head);
  const back = groups(tail);
  const full = tail === undefined ? front : [...front, ...Array(8 - front.length - back.length).fill('0'), ...back];
  return `${full
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
