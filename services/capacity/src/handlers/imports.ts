import type { CapacityRpc } from '@allot/contracts';
import { type Handlers, importHandlers } from '@allot/kit';
import type { Capacity } from '../context';

/** Bulk imports of sessions and dates' capacity. */
export const importOperations = (cap: Capacity) => importHandlers(cap.imports, cap.requestIds) satisfies Partial<Handlers<CapacityRpc>>;
