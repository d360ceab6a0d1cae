import type { GivenUp, JobDefinition } from '@allot/kit';
import type { Inventory } from '../context';
import { supplierCheck, supplierReserve } from '../job-kinds';
import { checkReservation, requestReservation } from '../supplier';

/**
 * The supplier workflow's durable steps. A supplier error is retried after 1 s, 2 s, 4 s, 8 s,
 * 16 s (`SUPPLIER_RETRY_BASE_MS` doubling, `SUPPLIER_RETRIES` times); the last attempt fails the
 * order and the job goes to the dead letters. A step that gave up for any other reason leaves its
 * order waiting, and the order names the dead letter it waits on.
 */
export const supplierJobs = (inv: Inventory): JobDefinition[] => {
  const retries = inv.config.SUPPLIER_RETRIES;
  const options = {
    // A step is a supplier call (at most SUPPLIER_TIMEOUT_MS) and a few writes: a lease well past
    // that, rather than the kit's minute, is how long a step claimed by a process that died waits
    // before another process takes it.
    leaseMs: 4 * inv.config.SUPPLIER_TIMEOUT_MS + 10_000,
    maxAttempts: retries + 1,
    backoffMs: Array.from({ length: Math.max(1, retries) }, (_, i) => inv.config.SUPPLIER_RETRY_BASE_MS * 2 ** i),
  };
  const last = (attempt: number) => attempt >= options.maxAttempts;
  const onGiveUp = ({ orderId }: { orderId: string }, { deadLetterId, error }: GivenUp) =>
    inv.orders.block(orderId, { deadLetterId, error, at: inv.clock.now().toISOString() });
  return [
    supplierReserve.handle(({ orderId }, { attempt }) => requestReservation(inv, orderId, last(attempt)), { ...options, onGiveUp }),
    supplierCheck.handle(({ orderId, check }, { attempt }) => checkReservation(inv, orderId, check, last(attempt)), {
      ...options,
      onGiveUp,
    }),
  ];
};
