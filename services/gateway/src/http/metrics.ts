import { lazyInstruments, secondsHistogram } from '@allot/kit';

/** What the gateway records besides the kit's RPC and handler metrics (SPEC §10). */
export const gatewayMetrics = lazyInstruments((meter) => ({
  requestDuration: secondsHistogram(meter, 'allot_http_request_duration_seconds', 'HTTP request duration by method, route and status'),
  sseConnections: meter.createUpDownCounter('allot_sse_connections', { description: 'Open SSE connections' }),
}));
