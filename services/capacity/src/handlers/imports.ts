import type { CapacityRpc } from '@allot/contracts';
import { type Handlers, importHandlers } from '@allot/kit';
import type { Capacity } from '../context';

/** Bulk imports of sessions, dates' capacity and bookings. */
export const importOperations = (cap: Capacity) =>
  importHandlers(cap.imports, cap.requestIds, 'capacity') satisfies Partial<Handlers<CapacityRpc>>;
