import { lazyInstruments, secondsHistogram } from '@allot/kit';

/**
 * What the gateway records besides the kit's RPC and handler metrics: HTTP requests, API key
 * lookups, SSE connections. A leaf every part may use (`auth/`, `http/`, `routes/`).
 */
export const gatewayMetrics = lazyInstruments((meter) => ({
  requestDuration: secondsHistogram(meter, 'allot_http_request_duration_seconds', 'HTTP request duration by method, route and status'),
  apiKeyLookups: meter.createCounter('allot_api_key_lookups', { description: 'API keys read from the database (cache misses)' }),
  sseConnections: meter.createUpDownCounter('allot_sse_connections', { description: 'Open SSE connections' }),
}));
