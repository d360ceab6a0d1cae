/**
 * `httpLoad` with the answers checked: the same autocannon run, plus how many responses were not
 * 2xx and how many requests failed, so a benchmark cannot report 429s or 503s as throughput.
 */
import autocannon from 'autocannon';
import type { Rate } from './measure';

export interface CheckedRate extends Rate {
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

export async function httpLoadChecked(
  url: string,
  options: { connections: number; seconds: number; headers?: Record<string, string>; method?: 'GET' | 'POST'; body?: string },
): Promise<CheckedRate> {
  const { connections, seconds: duration, headers, method = 'GET', body } = options;
  // autocannon takes an option given as undefined for a value: only those given are passed.
  const result = await autocannon({ url, connections, duration, method, ...(headers && { headers }), ...(body !== undefined && { body }) });
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s?.count ?? 0]));
  return {
    perSecond: Math.round(result.requests.average * 100) / 100,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    ok2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
  };
}
