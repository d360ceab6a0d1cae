import { defineJob, ImportSliceSchema, ReportJobSchema } from '@allot/kit';
import { z } from 'zod';

/** Asks the supplier to reserve an order the stock could not serve. */
export const supplierReserve = defineJob('supplier-reserve', z.object({ orderId: z.string() }));

/** Checks an accepted supplier reservation (the `check`-th time). */
export const supplierCheck = defineJob('supplier-check', z.object({ orderId: z.string(), check: z.number().int().min(1) }));

/** Writes a report's file (docs/api.md, Reports). */
export const reportJob = defineJob('report', ReportJobSchema);

/** One run of a bulk import of SKUs: it works through the file from a row on, and hands the rest to the next run. */
export const importSlice = defineJob('import-slice', ImportSliceSchema);
