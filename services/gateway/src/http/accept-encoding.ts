/**
 * Whether a request's `Accept-Encoding` takes gzip: named (or `x-gzip`, or `*` when gzip is not
 * named) with a q-value above 0. No header: the body is sent as it is, which every client reads.
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let gzip: boolean | undefined;
  let any = false;
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const accepted = q === undefined || Number(q.slice(2)) > 0;
    if (name === 'gzip' || name === 'x-gzip') gzip = accepted;
    else if (name === '*') any = accepted;
  }
  return gzip ?? any;
}
