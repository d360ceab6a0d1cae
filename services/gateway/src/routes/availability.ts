import { availabilityRpc, RefreshAvailability } from '@allot/contracts';
import type { GatewayDeps } from '../deps';
import { router } from '../http/openapi';
import { type RpcRouteSpec, registerRpcRoutes, rpcRoute } from '../http/rpc-route';
import { availabilityAnswers } from './availability-answers';

const anyone = ['apiKey', 'user'] as const;
const service = 'availability' as const;
const op = <K extends keyof typeof availabilityRpc>(operation: K) => ({ service, operation, contract: availabilityRpc[operation] });
/** A GET whose query string is the operation's whole input. */
const query = <K extends keyof typeof availabilityRpc>(
  operation: K,
  path: string,
  documented: Pick<RpcRouteSpec<(typeof availabilityRpc)[K]>, 'operationId' | 'summary' | 'description'>,
) =>
  rpcRoute({
    method: 'get',
    path,
    ...documented,
    tag: 'Availability',
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
    query('availability.get', '/availability', {
      operationId: 'getAvailability',
      summary: "A session's availability on a date, or every active session's",
      description:
        "What is left to book on a date: with `sessionId` that session's figures, without it a page of the active sessions in id order (`limit` counts sessions).",
    }),
    query('availability.range', '/availability/range', {
      operationId: 'getAvailabilityRange',
      summary: 'Availability for each date of a range (at most 92 days)',
      description:
        'Availability for every date from `from` to `to` (at most 92 days): without `sessionId`, each date has the same page of active sessions, with one `nextCursor` for the next sessions.',
    }),
    query('availability.stats', '/availability/stats', {
      operationId: 'getAvailabilityStats',
      summary: "A session's availability figures on a date",
      description: "A session's capacity, booked and available slots and utilization on one date.",
    }),
    query('availability.trends', '/availability/trends', {
      operationId: 'getAvailabilityTrends',
      summary: 'Booked and available slots of each of the last days (1..90)',
      description: 'Booked and available slots of a session on each of the last `days` days (1 to 90).',
    }),
    query('availability.peakHours', '/availability/peak-hours', {
      operationId: 'getAvailabilityPeakHours',
      summary: 'Hours of the day (UTC) confirmed bookings were made in',
      description:
        'How many confirmed bookings of a session were made in each hour of the day (UTC) over the last `days` days, busiest first.',
    }),
    query('availability.alerts', '/availability/alerts', {
      operationId: 'listAvailabilityAlerts',
      summary: 'Low or no availability today, high demand tomorrow',
      description:
        'Alerts of low or no availability today and high demand tomorrow, for one session or a page of the active sessions; a page may hold no alert and still have a next one.',
    }),
    rpcRoute({
      method: 'post',
      path: '/availability/refresh',
      summary: 'Rebuild a date from the capacity service and broadcast it again (admin)',
      operationId: 'refreshAvailability',
      tag: 'Availability',
      description:
        "Rebuilds a date's availability from the capacity service's figures and announces every session's entry again on the stream; answers the first page (50 sessions), the rest is `GET /v1/availability?date=&cursor=`.",
      credentials: ['apiKey'],
      ...op('availability.refresh'),
      body: RefreshAvailability,
      input: (r) => r.body,
    }),
  ]);
  return app;
}
