import { AppError, capacityRpc, type RpcContract } from '@allot/contracts';
import type { RpcHandler } from '@allot/kit';
import { cancelBooking, confirmBooking, createBooking } from './bookings';
import { type Capacity, capacityMetrics, tenantOf } from './capacity';
import { checkCapacity, currentAlerts, sessionAnalytics } from './insights';
import { createSession, setCapacity, updateSession } from './sessions';
import { toBooking } from './store/bookings';
import { toQueueEntry } from './store/queue';
import { toSession } from './store/sessions';
import { cancelEntry, joinQueue, processQueue, queueStatus, visibleEntry } from './waitlist';

type Ops = typeof capacityRpc;
type Handlers = { [K in keyof Ops]: RpcHandler<Ops[K]> };

const page = <T extends { id: string }>(items: T[], limit: number) => ({
  items: items.slice(0, limit),
  nextCursor: items.length > limit ? (items[limit - 1]?.id ?? null) : null,
});

/** Every RPC operation of the capacity service (SPEC §4), one line of wiring each. */
export function capacityHandlers(cap: Capacity): Handlers {
  return {
    'session.create': (input, ctx) => createSession(cap, tenantOf(ctx), input),
    'session.list': async ({ active, limit, cursor }, ctx) => {
      const docs = await cap.sessions.list(tenantOf(ctx), { active, limit: limit + 1, after: cursor });
      return page(docs.map(toSession), limit);
    },
    'session.get': async ({ id }, ctx) => toSession(await cap.session(tenantOf(ctx), id)),
    'session.update': ({ id, patch }, ctx) => updateSession(cap, tenantOf(ctx), id, patch),
    'capacity.set': ({ sessionId, ...input }, ctx) => setCapacity(cap, tenantOf(ctx), sessionId, input),
    'capacity.check': (input, ctx) => checkCapacity(cap, tenantOf(ctx), input),
    'booking.create': async (input, ctx) => {
      try {
        const booking = await createBooking(cap, tenantOf(ctx), ctx.actor, input);
        capacityMetrics().bookings.add(1, { result: booking.status });
        return booking;
      } catch (error) {
        capacityMetrics().bookings.add(1, { result: error instanceof AppError ? error.code : 'internal' });
        throw error;
      }
    },
    'booking.confirm': ({ id }, ctx) => confirmBooking(cap, tenantOf(ctx), ctx.actor, id),
    'booking.cancel': ({ id }, ctx) => cancelBooking(cap, tenantOf(ctx), ctx.actor, id),
    'booking.get': async ({ id }, ctx) => toBooking(await cap.visibleBooking(tenantOf(ctx), id, ctx.actor)),
    'booking.list': async ({ limit, cursor, ...filter }, ctx) => {
      // A user sees only its own bookings, whatever it asks for.
      const userId = ctx.actor.kind === 'user' ? ctx.actor.userId : filter.userId;
      const docs = await cap.bookings.list(tenantOf(ctx), { ...filter, userId }, limit + 1, cursor);
      return page(docs.map(toBooking), limit);
    },
    'queue.join': (input, ctx) => joinQueue(cap, tenantOf(ctx), ctx.actor, input),
    'queue.status': ({ sessionId, date }, ctx) => queueStatus(cap, tenantOf(ctx), sessionId, date),
    'queue.get': async ({ id }, ctx) => toQueueEntry(await visibleEntry(cap, tenantOf(ctx), ctx.actor, id)),
    'queue.cancel': ({ id }, ctx) => cancelEntry(cap, tenantOf(ctx), ctx.actor, id),
    'queue.mine': async ({ limit, cursor, status }, ctx) => {
      if (ctx.actor.kind !== 'user') throw new AppError('forbidden', 'Only a user token has entries of its own');
      const docs = await cap.queue.forUser(tenantOf(ctx), ctx.actor.userId, limit + 1, cursor, status);
      return page(docs.map(toQueueEntry), limit);
    },
    'queue.process': async ({ sessionId, date }, ctx) => {
      await cap.session(tenantOf(ctx), sessionId);
      return { promoted: await processQueue(cap, tenantOf(ctx), sessionId, date) };
    },
    'session.analytics': (input, ctx) => sessionAnalytics(cap, tenantOf(ctx), input),
    'capacity.alerts': ({ sessionId }, ctx) => currentAlerts(cap, tenantOf(ctx), sessionId),
  };
}

export function registerHandlers(cap: Capacity): void {
  const handlers = capacityHandlers(cap);
  for (const [operation, contract] of Object.entries(capacityRpc) as [keyof Ops, RpcContract][]) {
    cap.service.rpc.add(operation, contract, handlers[operation] as RpcHandler<RpcContract>);
  }
}
