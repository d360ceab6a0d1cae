import { defineJob, ImportSliceSchema, ReportJobSchema } from '@allot/kit';
import { z } from 'zod';

/** A held booking (or a held waitlist offer) that was not confirmed in time. */
export const holdExpiry = defineJob('hold-expiry', z.object({ tenantId: z.string(), bookingId: z.string() }));

/** A waitlist entry nobody served before its time ran out. */
export const queueExpiry = defineJob('queue-expiry', z.object({ tenantId: z.string(), entryId: z.string() }));

/** One run of a bulk import: it works through the file from a row on, and hands the rest to the next run. */
export const importSlice = defineJob('import-slice', ImportSliceSchema);

/** Writes a report's file (docs/api.md, Reports). */
export const reportJob = defineJob('report', ReportJobSchema);
