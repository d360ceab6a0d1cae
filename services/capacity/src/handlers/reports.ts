import type { CapacityRpc } from '@allot/contracts';
import { type Handlers, reportHandlers } from '@allot/kit';
import type { Capacity } from '../context';

/** Reports of bookings and occupancy. */
export const reportOperations = (cap: Capacity) => reportHandlers(cap.reports, cap.requestIds) satisfies Partial<Handlers<CapacityRpc>>;
