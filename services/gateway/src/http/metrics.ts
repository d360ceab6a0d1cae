import { lazyInstruments } from '@allot/kit';

/** What the gateway records besides the kit's RPC and handler metrics (SPEC §10). */
export const gatewayMetrics = lazyInstruments((meter) => ({
  requestDuration: meter.createHistogram('allot_http_request_duration_seconds', {
    description: 'HTTP request duration by method, route and status',
    unit: 's',
  }),
  sseConnections: meter.createUpDownCounter('allot_sse_connections', { description: 'Open SSE connections' }),
}));
