import { AppError, type CapacityRpc } from '@allot/contracts';
import type { Handlers } from '@allot/kit';
import type { Capacity } from '../context';
import { checkCapacity, currentAlerts, sessionAnalytics } from '../insights';

/** Capacity checks, analytics, alerts, and the tenant's limits against hoarding. */
export const insightHandlers = (cap: Capacity) =>
  ({
    'capacity.check': (input, { tenantId }) => checkCapacity(cap, tenantId, input),
    'session.analytics': (input, { tenantId }) => sessionAnalytics(cap, tenantId, input),
    'capacity.alerts': (query, { tenantId }) => currentAlerts(cap, tenantId, query),
    'limits.get': (_input, { tenantId }) => cap.limits.get(tenantId),
    'limits.set': async (patch, { tenantId, actor }) => {
      if (actor.kind !== 'apiKey') throw new AppError('forbidden', 'Only an API key may change the limits');
      const limits = await cap.limits.set(tenantId, patch);
      cap.log.info({ limits }, 'limits changed');
      return limits;
    },
  }) satisfies Partial<Handlers<CapacityRpc>>;
