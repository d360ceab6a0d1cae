/**
 * Which addresses a webhook may reach (the service's README.md, Safety): https to public
 * unicast addresses only, so a tenant cannot make the platform call into its own network (the
 * metadata service, a database, the loopback). `ipaddr.js` classifies addresses by the IANA
 * special-purpose registries; an IPv4-mapped IPv6 address is judged as the IPv4 address it is.
 */
import ipaddr from 'ipaddr.js';

export interface UrlRules {
  /** `WEBHOOK_ALLOW_PRIVATE`: http and private addresses allowed (development and tests). */
  allowPrivate: boolean;
}

/** True for an address on the public internet: not private, loopback, link-local, reserved, multicast, … */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}

/** An IP literal host (`[::1]` as the URL API writes it), unbracketed; undefined for a name. */
export function ipLiteral(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) && (bare.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(bare)) ? bare : undefined;
}

/**
 * Why a URL may not be used, or undefined if it may (before any name is resolved): the scheme,
 * credentials in it, and an IP literal that is not public. Names are checked when resolved.
 */
export function urlProblem(text: string, rules: UrlRules): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be a URL';
  }
  const schemes = rules.allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) return rules.allowPrivate ? 'must be an http or https URL' : 'must be an https URL';
  if (url.username || url.password) return 'must not carry credentials';
  if (!url.hostname) return 'must name a host';
  const literal = ipLiteral(url.hostname);
  if (literal && !rules.allowPrivate && !isPublicAddress(literal)) return 'must not point to a private, loopback or link-local address';
  return undefined;
}

/** Why resolved addresses may not be connected to, or undefined: every one must be public. */
export function addressProblem(addresses: readonly string[], rules: UrlRules): string | undefined {
  if (rules.allowPrivate) return undefined;
  const refused = addresses.find((a) => !isPublicAddress(a));
  return refused ? `resolves to a private, loopback or link-local address (${refused})` : undefined;
}
