import Negotiator from 'negotiator';

/**
 * Whether a request's `Accept-Encoding` prefers gzip to the body as it is (`identity`), by the
 * header's q-values (negotiator, as Express reads the header). No header: the body as it is,
 * which every client reads.
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return new Negotiator({ headers: { 'accept-encoding': header } }).encoding(['gzip', 'identity']) === 'gzip';
}
