import type { CapacityRpc } from '@allot/contracts';
import { type Handlers, toPage } from '@allot/kit';
import type { Capacity } from '../context';
import { createSession, setCapacity, updateSession } from '../sessions';
import { toSession } from '../store/sessions';

/** Sessions and their capacity. */
export const sessionHandlers = (cap: Capacity) =>
  ({
    'session.create': (input, { tenantId, idempotencyKey }) => createSession(cap, tenantId, input, idempotencyKey),
    'session.list': async ({ active, limit, cursor }, { tenantId }) =>
      toPage(await cap.sessions.list(tenantId, { active, limit: limit + 1, after: cursor }), limit, toSession),
    'session.get': async ({ id }, { tenantId }) => toSession(await cap.sessions.get(tenantId, id)),
    'session.update': ({ id, patch }, { tenantId }) => updateSession(cap, tenantId, id, patch),
    'capacity.set': ({ sessionId, ...input }, { tenantId }) => setCapacity(cap, tenantId, sessionId, input),
  }) satisfies Partial<Handlers<CapacityRpc>>;
