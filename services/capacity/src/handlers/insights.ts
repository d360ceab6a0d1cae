import type { CapacityRpc } from '@allot/contracts';
import type { Handlers } from '@allot/kit';
import type { Capacity } from '../context';
import { checkCapacity, currentAlerts, sessionAnalytics } from '../insights';

/** Capacity checks, analytics and alerts (SPEC §4). */
export const insightHandlers = (cap: Capacity) =>
  ({
    'capacity.check': (input, { tenantId }) => checkCapacity(cap, tenantId, input),
    'session.analytics': (input, { tenantId }) => sessionAnalytics(cap, tenantId, input),
    'capacity.alerts': ({ sessionId }, { tenantId }) => currentAlerts(cap, tenantId, sessionId),
  }) satisfies Partial<Handlers<CapacityRpc>>;
