import { availabilityRpc, RefreshAvailability } from '@allot/contracts';
import type { GatewayDeps } from '../deps';
import { router } from '../http/openapi';
import { registerRpcRoutes, rpcRoute } from '../http/rpc-route';
import { availabilityAnswers } from './availability-answers';

const anyone = ['apiKey', 'user'] as const;
const service = 'availability' as const;
const op = <K extends keyof typeof availabilityRpc>(operation: K) => ({ service, operation, contract: availabilityRpc[operation] });
/** A GET whose query string is the operation's whole input. */
const query = <K extends keyof typeof availabilityRpc>(operation: K, path: string, summary: string) =>
  rpcRoute({
    method: 'get',
    path,
    summary,
    credentials: [...anyone],
    ...op(operation),
    query: availabilityRpc[operation].input,
    input: (r) => r.query,
  });

/**
 * Availability queries (any credential of the tenant) and the admin's refresh. Answers
 * are kept by this replica until the tenant's availability changes, and carry an `ETag` (which
 * changes exactly when a figure or version in the answer does): polling costs almost nothing.
 */
export function availabilityRoutes(deps: GatewayDeps) {
  const app = router();
  const kept = availabilityAnswers(deps.fanout);
  app.use('/availability', kept);
  app.use('/availability/*', kept);
  registerRpcRoutes(app, deps, [
    query('availability.get', '/availability', "A session's availability on a date, or every active session's"),
    query('availability.range', '/availability/range', 'Availability for each date of a range (at most 92 days)'),
    query('availability.stats', '/availability/stats', "A session's availability figures on a date"),
    query('availability.trends', '/availability/trends', 'Booked and available slots of each of the last days (1..90)'),
    query('availability.peakHours', '/availability/peak-hours', 'Hours of the day (UTC) confirmed bookings were made in'),
    query('availability.alerts', '/availability/alerts', 'Low or no availability today, high demand tomorrow'),
    rpcRoute({
      method: 'post',
      path: '/availability/refresh',
      summary: 'Rebuild a date from the capacity service and broadcast it again (admin)',
      credentials: ['apiKey'],
      ...op('availability.refresh'),
      body: RefreshAvailability,
      input: (r) => r.body,
    }),
  ]);
  return app;
}
