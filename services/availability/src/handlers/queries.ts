import type { AvailabilityRpc } from '@allot/contracts';
import type { Handlers } from '@allot/kit';
import type { Availability } from '../context';
import { availabilityAlerts, availabilityOn, availabilityRange, availabilityTrends, peakHours } from '../queries';
import { refreshAvailability } from '../refresh';

/** Every availability query, answered from this replica's cache, and the admin's refresh. */
export const availabilityHandlers = (av: Availability): Handlers<AvailabilityRpc> => ({
  'availability.get': (query, { tenantId }) => availabilityOn(av, tenantId, query),
  'availability.range': (query, { tenantId }) => availabilityRange(av, tenantId, query),
  'availability.stats': async ({ date, sessionId }, { tenantId }) => {
    const answer = await availabilityOn(av, tenantId, { date, sessionId, limit: 1 });
    if ('items' in answer) throw new Error('a session was asked for');
    return answer;
  },
  'availability.trends': ({ sessionId, days }, { tenantId }) => availabilityTrends(av, tenantId, sessionId, days),
  'availability.peakHours': ({ sessionId, days }, { tenantId }) => peakHours(av, tenantId, sessionId, days),
  'availability.alerts': (query, { tenantId }) => availabilityAlerts(av, tenantId, query),
  'availability.refresh': ({ date, sessionId }, { tenantId }) => refreshAvailability(av, tenantId, date, sessionId),
});
